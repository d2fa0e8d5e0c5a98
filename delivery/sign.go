package delivery

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// HeaderSignature512 carries HMACSHA512's signature (Hyperswitch's merchant webhook header).
const HeaderSignature512 = "X-Webhook-Signature-512"

// Signer adds signature headers computed over the exact body bytes. Its
// errors never carry the key.
type Signer interface {
	Sign(h http.Header, messageID string, at time.Time, body []byte) error
}

// HMACSHA512 signs as Hyperswitch signs merchant webhooks:
// X-Webhook-Signature-512 = hex(HMAC-SHA512(key, body)).
type HMACSHA512 struct{ Key string }

// Sign sets X-Webhook-Signature-512.
func (s HMACSHA512) Sign(h http.Header, _ string, _ time.Time, body []byte) error {
	h.Set(HeaderSignature512, SignSHA512Hex(s.Key, body))
	return nil
}

// String hides the key from %v and %+v.
func (HMACSHA512) String() string { return "HMACSHA512{key hidden}" }

// GoString hides the key from %#v.
func (s HMACSHA512) GoString() string { return s.String() }

// StandardWebhooks signs per the Standard Webhooks specification:
// webhook-id, webhook-timestamp and webhook-signature ("v1,<base64 HMAC-SHA256
// of id.timestamp.body>"). A secret "whsec_<base64>" is decoded as the spec
// says; any other string is used as the raw key bytes.
type StandardWebhooks struct{ Secret string }

// ErrBadSigningKey says a key cannot sign; it never carries the key.
var ErrBadSigningKey = errors.New("cannot sign with the configured key")

// Sign sets the three Standard Webhooks headers; messageID is webhook-id.
func (s StandardWebhooks) Sign(h http.Header, messageID string, at time.Time, body []byte) error {
	wh, err := standardWebhooksKey(s.Secret)
	if err != nil {
		return err
	}
	sig, err := wh.Sign(messageID, at, body)
	if err != nil {
		return ErrBadSigningKey
	}
	h.Set(standardwebhooks.HeaderWebhookID, messageID)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)
	return nil
}

// String hides the secret from %v and %+v.
func (StandardWebhooks) String() string { return "StandardWebhooks{secret hidden}" }

// GoString hides the secret from %#v.
func (s StandardWebhooks) GoString() string { return s.String() }

// CheckStandardWebhooksSecret says whether secret can sign (a "whsec_" secret must be valid base64).
func CheckStandardWebhooksSecret(secret string) error {
	_, err := standardWebhooksKey(secret)
	return err
}

func standardWebhooksKey(secret string) (*standardwebhooks.Webhook, error) {
	if strings.HasPrefix(secret, "whsec_") {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return nil, ErrBadSigningKey
		}
		return wh, nil
	}
	wh, err := standardwebhooks.NewWebhookRaw([]byte(secret))
	if err != nil {
		return nil, ErrBadSigningKey
	}
	return wh, nil
}

// SignSHA512Hex is hex(HMAC-SHA512(key, body)), X-Webhook-Signature-512's value.
func SignSHA512Hex(key string, body []byte) string {
	m := hmac.New(sha512.New, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifySHA512Hex checks an X-Webhook-Signature-512 value in constant time,
// as a merchant would (the development merchant receiver, tests).
func VerifySHA512Hex(key string, body []byte, sig string) bool {
	return hmac.Equal([]byte(strings.ToLower(sig)), []byte(SignSHA512Hex(key, body)))
}
