package recovery

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// Every platform is registered under its connector_name and refuses a webhook
// when the connector holds no secret, whatever the headers say.
func TestPlatformRegistry(t *testing.T) {
	want := []string{Chargebee, CustomBilling, Recurly, StripeBilling}
	if got := PlatformNames(); !slices.Equal(got, want) {
		t.Fatalf("PlatformNames() = %v, want %v", got, want)
	}
	now := time.Unix(1763990000, 0)
	body := []byte(`{"id":"evt_1"}`)
	for _, name := range want {
		p, ok := PlatformNamed(name)
		if !ok || p.Name() != name || !IsBillingPlatform(name) {
			t.Errorf("%s: registered %v as %v", name, ok, p)
			continue
		}
		h := http.Header{}
		h.Set("Authorization", BasicAuthorization("", ""))
		if err := VerifyWebhook(name, h, body, WebhookCredentials{}, now); !errors.Is(err, ErrUnverified) {
			t.Errorf("%s without a secret: %v, want ErrUnverified", name, err)
		}
	}
	if IsBillingPlatform(Stripe) || IsBillingPlatform("") {
		t.Error("the payment processor or an empty name counts as a billing platform")
	}
	if err := VerifyWebhook("paddle", http.Header{}, body, WebhookCredentials{Secrets: []string{"s"}}, now); !errors.Is(err, ErrUnverified) {
		t.Errorf("unknown platform verified: %v", err)
	}
	if _, err := Parse("paddle", body, http.Header{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("unknown platform parsed: %v", err)
	}
}

// Each platform states what its connectors need beyond a secret.
func TestPlatformCredentialChecks(t *testing.T) {
	creds := WebhookCredentials{Secrets: []string{"whsec_Y3VycmVudC1zZWNyZXQ="}}
	for name, wantField := range map[string]string{Chargebee: "username", Recurly: "", StripeBilling: "", CustomBilling: ""} {
		p, _ := PlatformNamed(name)
		bad := p.CheckCredentials(creds)
		if (bad == nil && wantField != "") || (bad != nil && bad.Field != wantField) {
			t.Errorf("%s: %v, want field %q", name, bad, wantField)
		}
	}
	custom, _ := PlatformNamed(CustomBilling)
	if bad := custom.CheckCredentials(WebhookCredentials{Secrets: []string{"whsec_not base64!"}}); bad == nil || bad.Field != "merchant_secret" {
		t.Errorf("custombilling took an undecodable whsec_ secret: %v", bad)
	}
	if custom.HasAPI() {
		t.Error("custombilling has no API to call")
	}
}

// A platform with an API records our payments back and completes its thin
// events through it; one without (custombilling) asks nothing of it.
func TestPlatformAPICalls(t *testing.T) {
	inv := PaidInvoice{InvoiceID: "in/1", Amount: 2250, Currency: "USD", PaymentIntentID: "pi_1"}
	for _, name := range PlatformNames() {
		p, _ := PlatformNamed(name)
		req, ok := p.RecordBackRequest(inv)
		if ok != p.HasAPI() {
			t.Errorf("%s: record-back %v, HasAPI %v", name, ok, p.HasAPI())
		}
		if ok && (req.Op == "" || req.Method == "" || !strings.Contains(req.Path, "/in%2F1/")) {
			t.Errorf("%s: record-back %+v, want an op, a method and the escaped invoice id", name, req)
		}
		fetched := 0
		_, err := p.CompleteEvent(Event{Lookup: &Lookup{Object: "no_such_object", ID: "x"}}, func(APIRequest) ([]byte, error) {
			fetched++
			return nil, nil
		})
		if !errors.Is(err, ErrMalformed) || fetched != 0 {
			t.Errorf("%s: an unknown look-up gave %v after %d fetches, want ErrMalformed and none", name, err, fetched)
		}
	}
}
