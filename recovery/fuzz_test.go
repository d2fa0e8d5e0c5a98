package recovery

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// platformOfFixture maps a testdata file's prefix to its platform.
var platformOfFixture = map[string]string{
	"chargebee_": Chargebee, "stripe_": StripeBilling, "recurly_": Recurly, "custom_": CustomBilling,
}

var fuzzPlatforms = []string{Chargebee, StripeBilling, Recurly, CustomBilling}

// addFixtures seeds f with every testdata fixture, as (platform index, body).
func addFixtures(f *testing.F, add func(platform uint8, body []byte)) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for prefix, platform := range platformOfFixture {
			if strings.HasPrefix(filepath.Base(file), prefix) {
				for i, p := range fuzzPlatforms {
					if p == platform {
						add(uint8(i), b)
					}
				}
			}
		}
	}
}

// FuzzParse: no body makes Parse panic, every refusal wraps ErrMalformed (the
// ingress answers it 400), and an accepted event it acts on names an invoice
// or what to fetch to find it.
func FuzzParse(f *testing.F) {
	addFixtures(f, func(p uint8, b []byte) { f.Add(p, b, "msg_2Lh9KRb0pzN4LePd3XiA4") })
	f.Add(uint8(3), []byte(`{"type":"invoice.payment_failed","data":{"amount_details":{}}}`), "")
	f.Fuzz(func(t *testing.T, platform uint8, body []byte, webhookID string) {
		h := http.Header{}
		h.Set("webhook-id", webhookID)
		p := fuzzPlatforms[int(platform)%len(fuzzPlatforms)]
		ev, err := Parse(p, body, h)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s refusal does not wrap ErrMalformed: %v", p, err)
			}
			return
		}
		if ev.Platform != p || ev.Kind == "" {
			t.Fatalf("accepted %s event without platform or kind: %+v", p, ev)
		}
		switch {
		case ev.Kind == PaymentMethodUpdated && ev.ConnectorCustomerID == "" && ev.Lookup == nil:
			t.Fatalf("accepted %s card update names no customer", p)
		case ev.Kind != OtherEvent && ev.Kind != PaymentMethodUpdated && ev.InvoiceID == "" && ev.Lookup == nil:
			t.Fatalf("accepted %s %s event names no invoice", p, ev.Kind)
		}
	})
}

// FuzzComplete: whatever the platform's API returns for a thin event's charge,
// transaction or invoice, completing it does not panic, refuses with
// ErrMalformed, and a completed event needs no further lookup.
func FuzzComplete(f *testing.F) {
	for _, name := range []string{"stripe_charge_failed.json", "stripe_charge_pending.json", "recurly_transaction_declined.json",
		"recurly_transaction_success.json", "recurly_invoice.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"id":"i","total":"12.345","currency":"USD"}`))
	f.Add([]byte(`{"id":"i","total":1e400,"currency":"JPY"}`))
	f.Fuzz(func(t *testing.T, obj []byte) {
		thin := Event{Kind: PaymentFailure, Lookup: &Lookup{Object: "charge", ID: "x"}}
		for name, complete := range map[string]func() (Event, error){
			"stripe charge":      func() (Event, error) { return CompleteStripe(thin, obj) },
			"recurly invoice":    func() (Event, error) { return CompleteRecurly(thin, nil, obj) },
			"recurly tx+invoice": func() (Event, error) { return CompleteRecurly(thin, obj, obj) },
		} {
			ev, err := complete()
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("%s refusal does not wrap ErrMalformed: %v", name, err)
				}
				continue
			}
			if ev.Lookup != nil {
				t.Fatalf("%s completed yet still needs a lookup", name)
			}
		}
		if id, err := RecurlyInvoiceIDOf(obj); err == nil && id == "" {
			t.Fatal("empty invoice id accepted")
		} else if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("RecurlyInvoiceIDOf refusal does not wrap ErrMalformed: %v", err)
		}
	})
}

// FuzzSignatures: for each platform's scheme, a body signed with our secret
// verifies (also beside an old secret), never under another secret, and a
// fuzzed header never panics and verifies only if it is a real signature.
func FuzzSignatures(f *testing.F) {
	addFixtures(f, func(_ uint8, b []byte) {
		f.Add(b, "whsec_test_stripe_secret", "whsec_old_stripe_secret", "t=1700000000,v1=b1d1cb3c", int64(1700000000))
	})
	f.Add([]byte(`{"id":"evt_1","type":"invoice.payment_failed"}`), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "k", "1700000000000,zz,", int64(0))
	f.Add([]byte{}, "", "x", "v1,", int64(-62135596800))
	f.Fuzz(func(t *testing.T, body []byte, secret, other, header string, unix int64) {
		// HMAC pads a key with zero bytes, so "k" and "k\x00" are one key.
		if strings.TrimRight(secret, "\x00") == strings.TrimRight(other, "\x00") {
			return
		}
		now := time.Unix(unix%(1<<40), 0)
		tol := 5 * time.Minute

		if err := VerifyStripe(SignStripe(secret, now, body), body, []string{other, secret}, now, tol); err != nil {
			t.Fatalf("stripe: own signature refused: %v", err)
		}
		if VerifyStripe(SignStripe(secret, now, body), body, []string{other}, now, tol) == nil {
			t.Fatal("stripe: verified under another secret")
		}
		if err := VerifyStripe(header, body, []string{secret}, now, tol); err != nil && !errors.Is(err, ErrUnverified) {
			t.Fatalf("stripe: %v", err)
		}

		if err := VerifyRecurly(SignRecurly(secret, now, body), body, []string{other, secret}, now, tol); err != nil {
			t.Fatalf("recurly: own signature refused: %v", err)
		}
		if VerifyRecurly(SignRecurly(secret, now, body), body, []string{other}, now, tol) == nil {
			t.Fatal("recurly: verified under another secret")
		}
		if err := VerifyRecurly(header, body, []string{secret}, now, tol); err != nil && !errors.Is(err, ErrUnverified) {
			t.Fatalf("recurly: %v", err)
		}

		user := "orderflow"
		if VerifyBasic(BasicAuthorization(user, secret), user, []string{other, secret}) != nil ||
			VerifyBasic(BasicAuthorization(user, secret), user, []string{other}) == nil {
			t.Fatal("chargebee: HTTP Basic judged wrongly")
		}
		if err := VerifyBasic(header, user, []string{secret}); err == nil && header != BasicAuthorization(user, secret) {
			t.Fatalf("chargebee: %q accepted", header)
		}

		h := http.Header{}
		if err := StandardWebhookHeaders(h, secret, "msg_1", now, body); err == nil {
			if err := VerifyStandardWebhooks(h, body, []string{other, secret}, now, tol); err != nil {
				t.Fatalf("standard webhooks: own signature refused: %v", err)
			}
			if VerifyStandardWebhooks(h, body, []string{other}, now, tol) == nil && !sameStandardKey(other, secret) {
				t.Fatal("standard webhooks: verified under another secret")
			}
			h.Set("webhook-signature", header)
			if err := VerifyStandardWebhooks(h, body, []string{secret}, now, tol); err != nil && !errors.Is(err, ErrUnverified) {
				t.Fatalf("standard webhooks: %v", err)
			}
		}

	})
}

// sameStandardKey: "whsec_<base64>" and the raw bytes it decodes to are one key.
func sameStandardKey(a, b string) bool {
	ka, errA := standardWebhook(a)
	kb, errB := standardWebhook(b)
	if errA != nil || errB != nil {
		return false
	}
	h := http.Header{}
	if StandardWebhookHeaders(h, a, "m", time.Unix(0, 0), nil) != nil {
		return false
	}
	return ka.VerifyIgnoringTimestamp(nil, h) == nil && kb.VerifyIgnoringTimestamp(nil, h) == nil
}
