package recovery

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// Vectors: docs/billing-platforms.md ("Test vectors") and independent ones computed with openssl dgst
// (`printf '%s' "<t>.<body>" | openssl dgst -sha256 -hmac <secret>`).

const (
	stripeVecBody = `{"id":"evt_1","type":"invoice.payment_failed"}`
	stripeVecSig  = "b1d1cb3c1c55f01e60f8180c8777b6b741fa7ccf316b45d4bb8009f387f4b229"
	stripeVecOld  = "59de37773b2689ca442b24afe6f23d2c98da8ae51f28c4e17a10a8bb599d5895"
	// openssl, secret whsec_orderflow_independent, t=1763990000
	stripeIndBody = `{"id":"evt_9","type":"invoice.paid","data":{"object":{"id":"in_42"}}}`
	stripeIndSig  = "6a01aaa22e2779386b04f0dffe1d04c2d770c831249853a2c4ea739035331d8f"
)

var (
	vecTime = time.Unix(1700000000, 0)
	indTime = time.Unix(1763990000, 0)
)

func TestStripeSignature(t *testing.T) {
	body := []byte(stripeVecBody)
	header := "t=1700000000,v1=" + stripeVecSig
	for _, tc := range []struct {
		name    string
		header  string
		body    []byte
		secrets []string
		now     time.Time
		ok      bool
	}{
		{"billing-platforms.md vector", header, body, []string{"whsec_test_stripe_secret"}, vecTime, true},
		{"SignStripe reproduces the vector", SignStripe("whsec_test_stripe_secret", vecTime, body), body, []string{"whsec_test_stripe_secret"}, vecTime, true},
		{"rolled secret: second v1 matches the old secret", header + ",v1=" + stripeVecOld, body, []string{"whsec_old_stripe_secret"}, vecTime, true},
		{"rolled secret: first v1 matches, second does not", header + ",v1=" + stripeVecOld, body, []string{"whsec_test_stripe_secret"}, vecTime, true},
		{"v0 only is not enough", "t=1700000000,v0=" + stripeVecSig, body, []string{"whsec_test_stripe_secret"}, vecTime, false},
		{"independent openssl vector", "t=1763990000,v1=" + stripeIndSig, []byte(stripeIndBody), []string{"whsec_orderflow_independent"}, indTime, true},
		{"299 s old is fresh", header, body, []string{"whsec_test_stripe_secret"}, vecTime.Add(299 * time.Second), true},
		{"stale: 301 s old", header, body, []string{"whsec_test_stripe_secret"}, vecTime.Add(301 * time.Second), false},
		{"from the future beyond tolerance", header, body, []string{"whsec_test_stripe_secret"}, vecTime.Add(-301 * time.Second), false},
		{"tampered body", header, []byte(`{"id":"evt_1","type":"invoice.paid"}`), []string{"whsec_test_stripe_secret"}, vecTime, false},
		{"wrong secret", header, body, []string{"whsec_other"}, vecTime, false},
		{"tampered timestamp", "t=1700000001,v1=" + stripeVecSig, body, []string{"whsec_test_stripe_secret"}, vecTime, false},
		{"missing header", "", body, []string{"whsec_test_stripe_secret"}, vecTime, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyStripe(tc.header, tc.body, tc.secrets, tc.now, StripeTolerance)
			if (err == nil) != tc.ok {
				t.Fatalf("VerifyStripe = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrUnverified) {
				t.Fatalf("error %v does not wrap ErrUnverified", err)
			}
		})
	}
	if got := SignStripe("whsec_test_stripe_secret", vecTime, body); got != header {
		t.Errorf("SignStripe = %s, want %s", got, header)
	}
}

func TestRecurlySignature(t *testing.T) {
	body := []byte(`{"id":"rcn_1","object_type":"payment","event_type":"failed","uuid":"6c9a1f0e2b"}`)
	sig := "e9bd7ceae9d8a811b2c1d4758371c9e542b3fa0dd9e72b4e3df0c3b6fa119ed0"
	header := "1700000000000," + sig
	indBody := []byte(`{"id":"rcn_9","object_type":"payment","event_type":"succeeded","uuid":"abc123"}`)
	indHeader := "1763990000123,92ef941facd2f155a3173d02703fdb43ba2e022d3d1dfd2fb13465f09c9797b2"
	key := []string{"recurly_endpoint_key"}
	for _, tc := range []struct {
		name   string
		header string
		body   []byte
		keys   []string
		now    time.Time
		ok     bool
	}{
		{"billing-platforms.md vector", header, body, key, vecTime, true},
		{"second signature after a key regeneration", "1700000000000,deadbeef," + sig, body, key, vecTime, true},
		{"we hold the old and the new key", header, body, []string{"new_key", "recurly_endpoint_key"}, vecTime, true},
		{"independent openssl vector (ms precision)", indHeader, indBody, []string{"orderflow_recurly_key_2"}, time.UnixMilli(1763990000123), true},
		{"within drift", header, body, key, vecTime.Add(4 * time.Minute), true},
		{"stale beyond drift", header, body, key, vecTime.Add(6 * time.Minute), false},
		{"future beyond drift", header, body, key, vecTime.Add(-6 * time.Minute), false},
		{"tampered body", header, append([]byte(" "), body...), key, vecTime, false},
		{"wrong key", header, body, []string{"other"}, vecTime, false},
		{"seconds instead of ms do not verify", "1700000000," + sig, body, key, vecTime, false},
		{"no signature", "1700000000000", body, key, vecTime, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyRecurly(tc.header, tc.body, tc.keys, tc.now, RecurlyDrift)
			if (err == nil) != tc.ok {
				t.Fatalf("VerifyRecurly = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if got := SignRecurly("recurly_endpoint_key", time.UnixMilli(1700000000000), body); got != header {
		t.Errorf("SignRecurly = %s", got)
	}
}

func TestChargebeeBasic(t *testing.T) {
	if got := BasicAuthorization("cb_user", "cb_pass"); got != "Basic Y2JfdXNlcjpjYl9wYXNz" {
		t.Fatalf("BasicAuthorization = %s", got)
	}
	for _, tc := range []struct {
		name, header string
		passwords    []string
		ok           bool
	}{
		{"billing-platforms.md vector", "Basic Y2JfdXNlcjpjYl9wYXNz", []string{"cb_pass"}, true},
		{"rolled password: old still configured", "Basic Y2JfdXNlcjpjYl9wYXNz", []string{"cb_new", "cb_pass"}, true},
		{"wrong password", "Basic Y2JfdXNlcjpjYl9wYXNz", []string{"cb_other"}, false},
		{"missing", "", []string{"cb_pass"}, false},
		{"bearer is not basic", "Bearer Y2JfdXNlcjpjYl9wYXNz", []string{"cb_pass"}, false},
	} {
		if err := VerifyBasic(tc.header, "cb_user", tc.passwords); (err == nil) != tc.ok {
			t.Errorf("%s: VerifyBasic = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func stdHeaders(id, ts, sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", sig)
	return h
}

func TestStandardWebhooksSignature(t *testing.T) {
	ours := []byte(`{"type":"invoice.paid","timestamp":"2023-11-14T22:13:20Z","data":{"id":"inv_1"}}`)
	oursSecret := "whsec_b3JkZXJmbG93LXN0YW5kYXJkLXdlYmhvb2tzLWsx"
	svix := []byte(`{"test": 2432232314}`)
	svixSecret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	svixAt := time.Unix(1614265330, 0)
	// openssl with the key's raw bytes as hexkey.
	ind := []byte(`{"type":"invoice.payment_failed","data":{"merchant_reference_id":"inv_7"}}`)
	indSecret := "whsec_b3JkZXJmbG93LWluZGVwZW5kZW50LXN0ZC13ZWJob29rcy1rZXkh"
	for _, tc := range []struct {
		name    string
		h       http.Header
		body    []byte
		secrets []string
		now     time.Time
		ok      bool
	}{
		{"billing-platforms.md vector", stdHeaders("msg_1", "1700000000", "v1,DA9rVVVLR6AoOsbtrX2ysn0VVUjHX5znrmAA2hA3xT8="), ours, []string{oursSecret}, vecTime, true},
		{"Svix public vector", stdHeaders("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), svix, []string{svixSecret}, svixAt, true},
		{"independent openssl vector", stdHeaders("msg_ind", "1763990000", "v1,2OCJDS/3wITDm2RtVBBB/srNN1n2tplWgRfofI33rwk="), ind, []string{indSecret}, indTime, true},
		{"one of several space-separated signatures", stdHeaders("msg_1", "1700000000", "v1,bm90LWl0 v1a,xyz v1,DA9rVVVLR6AoOsbtrX2ysn0VVUjHX5znrmAA2hA3xT8="), ours, []string{oursSecret}, vecTime, true},
		{"rolled secret held on our side", stdHeaders("msg_1", "1700000000", "v1,DA9rVVVLR6AoOsbtrX2ysn0VVUjHX5znrmAA2hA3xT8="), ours, []string{svixSecret, oursSecret}, vecTime, true},
		{"stale", stdHeaders("msg_1", "1700000000", "v1,DA9rVVVLR6AoOsbtrX2ysn0VVUjHX5znrmAA2hA3xT8="), ours, []string{oursSecret}, vecTime.Add(6 * time.Minute), false},
		{"future", stdHeaders("msg_1", "1700000000", "v1,DA9rVVVLR6AoOsbtrX2ysn0VVUjHX5znrmAA2hA3xT8="), ours, []string{oursSecret}, vecTime.Add(-6 * time.Minute), false},
		{"tampered body", stdHeaders("msg_1", "1700000000", "v1,DA9rVVVLR6AoOsbtrX2ysn0VVUjHX5znrmAA2hA3xT8="), append(ours, ' '), []string{oursSecret}, vecTime, false},
		{"tampered id", stdHeaders("msg_2", "1700000000", "v1,DA9rVVVLR6AoOsbtrX2ysn0VVUjHX5znrmAA2hA3xT8="), ours, []string{oursSecret}, vecTime, false},
		{"missing headers", http.Header{}, ours, []string{oursSecret}, vecTime, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := VerifyStandardWebhooks(tc.h, tc.body, tc.secrets, tc.now, StandardWebhooksTolerance); (err == nil) != tc.ok {
				t.Fatalf("VerifyStandardWebhooks = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if sig, _ := SignStandardWebhooks(oursSecret, "msg_1", vecTime, ours); sig != "v1,DA9rVVVLR6AoOsbtrX2ysn0VVUjHX5znrmAA2hA3xT8=" {
		t.Errorf("SignStandardWebhooks = %s", sig)
	}
}
