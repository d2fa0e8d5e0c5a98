package delivery

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

type signatureVectors struct {
	HMACSHA512 []struct {
		Name, Key, Body, Signature string
	} `json:"hmac_sha512_hex"`
	StandardWebhooks []struct {
		Name, Secret, ID, Body, Signature string
		Timestamp                         int64
	} `json:"standard_webhooks"`
}

func loadVectors(t *testing.T) signatureVectors {
	t.Helper()
	raw, err := os.ReadFile("testdata/signatures.json")
	if err != nil {
		t.Fatal(err)
	}
	var v signatureVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.HMACSHA512) == 0 || len(v.StandardWebhooks) == 0 {
		t.Fatal("no vectors loaded")
	}
	return v
}

func TestHMACSHA512Vectors(t *testing.T) {
	for _, tc := range loadVectors(t).HMACSHA512 {
		t.Run(tc.Name, func(t *testing.T) {
			h := http.Header{}
			if err := (HMACSHA512{Key: tc.Key}).Sign(h, "ignored", time.Unix(0, 0), []byte(tc.Body)); err != nil {
				t.Fatal(err)
			}
			if got := h.Get(HeaderSignature512); got != tc.Signature {
				t.Errorf("%s = %s, want %s", HeaderSignature512, got, tc.Signature)
			}
			if !VerifySHA512Hex(tc.Key, []byte(tc.Body), strings.ToUpper(tc.Signature)) {
				t.Error("own signature (upper-case hex) refused")
			}
			if VerifySHA512Hex(tc.Key, []byte(tc.Body+" "), tc.Signature) || VerifySHA512Hex(tc.Key+"x", []byte(tc.Body), tc.Signature) {
				t.Error("signature accepted for another body or key")
			}
		})
	}
}

func TestStandardWebhooksVectors(t *testing.T) {
	for _, tc := range loadVectors(t).StandardWebhooks {
		t.Run(tc.Name, func(t *testing.T) {
			h := http.Header{}
			at := time.Unix(tc.Timestamp, 0)
			if err := (StandardWebhooks{Secret: tc.Secret}).Sign(h, tc.ID, at, []byte(tc.Body)); err != nil {
				t.Fatal(err)
			}
			if h.Get("webhook-id") != tc.ID || h.Get("webhook-timestamp") != strconv.FormatInt(tc.Timestamp, 10) || h.Get("webhook-signature") != tc.Signature {
				t.Errorf("headers %v, want signature %s", h, tc.Signature)
			}
			// The reference library, as a merchant would run it, accepts our headers.
			wh, err := standardwebhooks.NewWebhook(tc.Secret)
			if err != nil {
				t.Fatal(err)
			}
			if err := wh.VerifyIgnoringTimestamp([]byte(tc.Body), h); err != nil {
				t.Errorf("reference library refused our signature: %v", err)
			}
		})
	}
}

func TestStandardWebhooksRawSecretAndBadSecret(t *testing.T) {
	h := http.Header{}
	if err := (StandardWebhooks{Secret: "plain merchant key"}).Sign(h, "evt_1", time.Unix(1700000000, 0), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	wh, err := standardwebhooks.NewWebhookRaw([]byte("plain merchant key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.VerifyIgnoringTimestamp([]byte(`{}`), h); err != nil {
		t.Errorf("a raw secret's signature does not verify: %v", err)
	}

	bad := "whsec_!!not-base64-super-secret"
	err = (StandardWebhooks{Secret: bad}).Sign(http.Header{}, "evt_1", time.Unix(0, 0), nil)
	if !errors.Is(err, ErrBadSigningKey) || strings.Contains(err.Error(), "super-secret") {
		t.Errorf("bad secret: %v", err)
	}
	if CheckStandardWebhooksSecret(bad) == nil || CheckStandardWebhooksSecret("plain merchant key") != nil {
		t.Error("CheckStandardWebhooksSecret judged wrongly")
	}
}

func TestSignersHideTheirKeysWhenPrinted(t *testing.T) {
	signers := []Signer{HMACSHA512{Key: "key-one-secret"}, StandardWebhooks{Secret: "key-two-secret"}}
	for _, verb := range []string{"%v", "%+v", "%s", "%#v"} {
		if out := fmt.Sprintf(verb, signers); strings.Contains(out, "key-one") || strings.Contains(out, "key-two") {
			t.Errorf("%s printed a key: %s", verb, out)
		}
	}
}
