package connector

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"orderflow/recovery"
)

// seenRequest is what the billing platform received of one call.
type seenRequest struct {
	Method, Path, Auth, Accept, Form string
}

func recordingPlatform(t *testing.T) (*httptest.Server, func() []seenRequest) {
	t.Helper()
	var mu sync.Mutex
	var seen []seenRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		seen = append(seen, seenRequest{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("Accept"), r.PostForm.Encode()})
		mu.Unlock()
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seenRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]seenRequest(nil), seen...)
	}
}

func TestRecordBackSendsEachPlatformsCall(t *testing.T) {
	srv, seen := recordingPlatform(t)
	c := New(2 * time.Second)
	inv := recovery.PaidInvoice{InvoiceID: "inv 1", Amount: 2250, Currency: "USD", PaymentIntentID: "pi_1"}
	const basic = "Basic a2V5Og==" // "key:" — the API key as the Basic user
	want := map[string]seenRequest{
		recovery.Chargebee: {Method: "POST", Path: "/api/v2/invoices/inv%201/record_payment", Auth: basic,
			Form: "transaction%5Bamount%5D=2250&transaction%5Bid_at_gateway%5D=pi_1&transaction%5Bpayment_method%5D=other&transaction%5Bstatus%5D=success"},
		recovery.Recurly:       {Method: "PUT", Path: "/invoices/inv%201/mark_successful", Auth: basic, Accept: "application/vnd.recurly.v2021-02-25+json"},
		recovery.StripeBilling: {Method: "POST", Path: "/v1/invoices/inv%201/pay", Auth: "Bearer key", Form: "paid_out_of_band=true"},
	}
	for _, platform := range recovery.PlatformNames() {
		before := len(seen())
		if err := c.RecordBack(context.Background(), BillingAccount{Platform: platform, BaseURL: srv.URL + "/", APIKey: "key"}, inv); err != nil {
			t.Fatalf("%s: %v", platform, err)
		}
		got := seen()[before:]
		w, calls := want[platform]
		if !calls {
			if len(got) != 0 {
				t.Fatalf("%s has no API, yet sent %+v", platform, got)
			}
			continue
		}
		if len(got) != 1 || got[0].Method != w.Method || got[0].Path != w.Path || got[0].Auth != w.Auth ||
			(w.Accept != "" && got[0].Accept != w.Accept) || got[0].Form != w.Form {
			t.Fatalf("%s sent %+v, want %+v", platform, got, w)
		}
	}
	err := c.RecordBack(context.Background(), BillingAccount{Platform: "nope", BaseURL: srv.URL}, inv)
	var he *HTTPError
	if !errors.As(err, &he) || he.Retryable {
		t.Fatalf("unknown platform: %v, want a final HTTPError", err)
	}
}

func TestCompleteEventFetchesWithThePlatformsAuth(t *testing.T) {
	srv, seen := recordingPlatform(t)
	c := New(2 * time.Second)
	ev := recovery.Event{Lookup: &recovery.Lookup{Object: "billing_info", ID: "acc/1"}}
	_, err := c.CompleteEvent(context.Background(), BillingAccount{Platform: recovery.Recurly, BaseURL: srv.URL, APIKey: "key"}, ev)
	if !errors.Is(err, recovery.ErrMalformed) { // {} names no customer
		t.Fatalf("recurly billing info {}: %v, want ErrMalformed", err)
	}
	ev.Lookup = &recovery.Lookup{Object: "charge", ID: "ch_1"}
	if _, err := c.CompleteEvent(context.Background(), BillingAccount{Platform: recovery.StripeBilling, BaseURL: srv.URL, APIKey: "key"}, ev); err == nil {
		t.Fatal("stripe charge {}: want an error")
	}
	got := seen()
	want := []seenRequest{
		{Method: "GET", Path: "/accounts/acc%2F1/billing_info", Auth: "Basic a2V5Og==", Accept: "application/vnd.recurly.v2021-02-25+json"},
		{Method: "GET", Path: "/v1/charges/ch_1", Auth: "Bearer key"},
	}
	if len(got) != 2 || got[0] != want[0] || got[1].Method != want[1].Method || got[1].Path != want[1].Path || got[1].Auth != want[1].Auth {
		t.Fatalf("sent %+v, want %+v", got, want)
	}
	complete := recovery.Event{EventID: "e"}
	if out, err := c.CompleteEvent(context.Background(), BillingAccount{Platform: recovery.Chargebee}, complete); err != nil || out.EventID != "e" {
		t.Fatalf("complete event: %+v %v, want it back unchanged", out, err)
	}
}
