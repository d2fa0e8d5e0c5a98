package recovery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// ErrUnverified is wrapped by every verification failure; the wrapping message
// says why (missing header, stale timestamp, no matching signature) and never
// carries a secret or a signature.
var ErrUnverified = errors.New("webhook source not verified")

func unverified(why string) error { return fmt.Errorf("%w: %s", ErrUnverified, why) }

// hmacSHA256Hex is hex(HMAC-SHA256(key, msg)).
func hmacSHA256Hex(key, msg []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

// anyHexMatches compares each candidate with each expected value in constant time.
func anyHexMatches(candidates, expected []string) bool {
	ok := false
	for _, c := range candidates {
		for _, e := range expected {
			if hmac.Equal([]byte(strings.ToLower(c)), []byte(e)) {
				ok = true
			}
		}
	}
	return ok
}

func withinTolerance(ts, now time.Time, tol time.Duration) error {
	switch d := now.Sub(ts); {
	case d > tol:
		return unverified("timestamp too old")
	case d < -tol:
		return unverified("timestamp in the future")
	}
	return nil
}

// standardWebhook makes the reference library's signer from a secret:
// "whsec_<base64>" is decoded as the spec says; any other string is used as raw key bytes.
func standardWebhook(secret string) (*standardwebhooks.Webhook, error) {
	if strings.HasPrefix(secret, "whsec_") {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return nil, errors.New("standard webhooks secret is not valid base64")
		}
		return wh, nil
	}
	return standardwebhooks.NewWebhookRaw([]byte(secret))
}

// SignStandardWebhooks returns the webhook-signature header value ("v1,<base64>").
func SignStandardWebhooks(secret, id string, t time.Time, body []byte) (string, error) {
	wh, err := standardWebhook(secret)
	if err != nil {
		return "", err
	}
	return wh.Sign(id, t, body)
}

// StandardWebhookHeaders sets webhook-id, webhook-timestamp and webhook-signature.
func StandardWebhookHeaders(h http.Header, secret, id string, t time.Time, body []byte) error {
	sig, err := SignStandardWebhooks(secret, id, t, body)
	if err != nil {
		return err
	}
	h.Set(standardwebhooks.HeaderWebhookID, id)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(t.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)
	return nil
}
