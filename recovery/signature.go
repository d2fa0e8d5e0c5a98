package recovery

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
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

// Tolerances of the platforms' own libraries.
const (
	StripeTolerance           = 300 * time.Second // stripe-go
	RecurlyDrift              = 5 * time.Minute   // Recurly's client libraries
	StandardWebhooksTolerance = 5 * time.Minute   // reference libraries, each way
)

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

// SignStripe makes a Stripe-Signature header value for body at t (sandbox and tests).
func SignStripe(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hmacSHA256Hex([]byte(secret), []byte(ts+"."+string(body)))
}

// VerifyStripe checks a Stripe-Signature header: any v1 signature made with any
// of our secrets (the whole whsec_ string is the key) over "<t>.<body>", and t
// within tolerance of now. Stripe sends one v1 per active secret while a secret rolls.
func VerifyStripe(header string, body []byte, secrets []string, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if ts == "" || len(sigs) == 0 {
		return unverified("Stripe-Signature lacks t or v1")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return unverified("Stripe-Signature timestamp is not a number")
	}
	var expected []string
	for _, s := range secrets {
		expected = append(expected, hmacSHA256Hex([]byte(s), []byte(ts+"."+string(body))))
	}
	if !anyHexMatches(sigs, expected) {
		return unverified("no matching Stripe v1 signature")
	}
	return withinTolerance(time.Unix(sec, 0), now, tolerance)
}

// SignRecurly makes a recurly-signature header value for body at t.
func SignRecurly(key string, t time.Time, body []byte) string {
	ms := strconv.FormatInt(t.UnixMilli(), 10)
	return ms + "," + hmacSHA256Hex([]byte(key), []byte(ms+"."+string(body)))
}

// VerifyRecurly checks "recurly-signature: <unix ms>,<hex>[,<hex>]": any listed
// signature made with any of our keys over "<ms>.<body>", and the timestamp
// within drift of now (Recurly lists two signatures for 24 h after a key is regenerated).
func VerifyRecurly(header string, body []byte, keys []string, now time.Time, drift time.Duration) error {
	parts := strings.Split(header, ",")
	if len(parts) < 2 {
		return unverified("recurly-signature lacks a timestamp or a signature")
	}
	ms, err := strconv.ParseInt(strings.TrimSpace(parts[0]), 10, 64)
	if err != nil {
		return unverified("recurly-signature timestamp is not a number")
	}
	var sigs []string
	for _, p := range parts[1:] {
		sigs = append(sigs, strings.TrimSpace(p))
	}
	var expected []string
	for _, k := range keys {
		expected = append(expected, hmacSHA256Hex([]byte(k), []byte(strings.TrimSpace(parts[0])+"."+string(body))))
	}
	if !anyHexMatches(sigs, expected) {
		return unverified("no matching Recurly signature")
	}
	return withinTolerance(time.UnixMilli(ms), now, drift)
}

// BasicAuthorization is the Authorization header value for HTTP Basic.
func BasicAuthorization(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// VerifyBasic checks Chargebee's webhook HTTP Basic credentials against any of
// our passwords, in constant time.
func VerifyBasic(authorization, user string, passwords []string) error {
	if authorization == "" {
		return unverified("missing Authorization")
	}
	ok := false
	for _, p := range passwords {
		if subtle.ConstantTimeCompare([]byte(authorization), []byte(BasicAuthorization(user, p))) == 1 {
			ok = true
		}
	}
	if !ok {
		return unverified("wrong HTTP Basic credentials")
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

// VerifyStandardWebhooks checks Standard Webhooks headers against any of our
// secrets with the reference library, and the timestamp against our clock
// (the library's own check reads the wall clock, which tests cannot move).
func VerifyStandardWebhooks(h http.Header, body []byte, secrets []string, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(h.Get(standardwebhooks.HeaderWebhookTimestamp), 10, 64)
	if err != nil || h.Get(standardwebhooks.HeaderWebhookID) == "" {
		return unverified("missing or malformed webhook-id / webhook-timestamp")
	}
	matched := false
	for _, s := range secrets {
		wh, err := standardWebhook(s)
		if err != nil {
			continue
		}
		if wh.VerifyIgnoringTimestamp(body, h) == nil {
			matched = true
		}
	}
	if !matched {
		return unverified("no matching webhook-signature")
	}
	return withinTolerance(time.Unix(ts, 0), now, tolerance)
}
