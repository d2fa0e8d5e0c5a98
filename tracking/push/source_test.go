package push_test

import (
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"orderflow/tracking/push"
	"orderflow/tracking/push/clickpost"
	"orderflow/tracking/push/delhivery"
	"orderflow/tracking/push/fulfilment"
	"orderflow/tracking/push/shiprocket"
)

// Each source accepts its sender's credential (either rotated secret),
// refuses a wrong or missing one, and turns a verified body into an Event
// whose ID is push.WorkflowID of its name and account.
func TestEverySourceVerifiesAndBuildsItsEvent(t *testing.T) {
	at := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		src     push.Source
		fixture string // a body in the sender's shape
		header  func(body []byte, secret string) http.Header
	}{
		{clickpost.Push, "", func(_ []byte, s string) http.Header {
			return headers("webhook_key", s)
		}},
		{fulfilment.Push, "fulfilment/testdata/docs_order_change_status.json", func(b []byte, s string) http.Header {
			return headers("X-Event-Signature", fulfilment.Sign(b, s), "X-Event-Delivery", "31")
		}},
		{shiprocket.Push, "shiprocket/testdata/rto_initiated.json", func(_ []byte, s string) http.Header {
			return headers("x-api-key", s)
		}},
		{delhivery.Push, "delhivery/testdata/rto_in_transit.json", func(_ []byte, s string) http.Header {
			return headers("Authorization", "Bearer "+s)
		}},
	} {
		name := tc.src.Name()
		body := []byte(clickpostBody)
		if tc.fixture != "" {
			var err error
			if body, err = os.ReadFile(tc.fixture); err != nil {
				t.Fatal(err)
			}
		}
		secrets := []string{"old-secret-0123456789", "new-secret-0123456789"}
		for _, s := range secrets {
			if !tc.src.Verify(tc.header(body, s), body, secrets) {
				t.Errorf("%s: secret %q refused", name, s)
			}
		}
		if tc.src.Verify(tc.header(body, "wrong-secret-0123456789"), body, secrets) {
			t.Errorf("%s: a wrong secret verified", name)
		}
		if tc.src.Verify(http.Header{}, body, secrets) {
			t.Errorf("%s: no credential verified", name)
		}
		ev, err := tc.src.Event(tc.header(body, secrets[0]), body, "acme", at)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if ev.Source != name || ev.Account != "acme" || !ev.ReceivedAt.Equal(at) ||
			!strings.HasPrefix(ev.EventID, push.WorkflowID(name, "acme", "")) {
			t.Errorf("%s: event %+v", name, ev)
		}
	}
}

// clickpostBody is a status push as Clickpost's webhook docs show it (their
// samples in clickpost/testdata are not valid JSON).
const clickpostBody = `{"waybill":"A1","clickpost_status_code":5,"cp_id":4,` +
	`"clickpost_status_description":"In Transit","status":"X","location":"VASAI, MUMBAI",` +
	`"timestamp":"2026-12-04T10:00:00Z","remark":"","additional":{}}`

// The fulfilment platform's delivery id is the event's identity: a missing
// one is refused naming the header, and the ID is built from it.
func TestFulfilmentEventIsKeyedByItsDelivery(t *testing.T) {
	body, err := os.ReadFile("fulfilment/testdata/docs_order_change_status.json")
	if err != nil {
		t.Fatal(err)
	}
	_, err = fulfilment.Push.Event(http.Header{}, body, "acme", time.Now())
	var bad *push.InputError
	if !errors.As(err, &bad) || bad.Field != "X-Event-Delivery" {
		t.Fatalf("missing delivery id: %v, want an InputError naming X-Event-Delivery", err)
	}
	ev, err := fulfilment.Push.Event(headers("X-Event-Delivery", "31"), body, "acme", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := "push:fulfilment:acme:31"; ev.EventID != want {
		t.Errorf("event ID %q, want %q", ev.EventID, want)
	}
}

// headers sets name/value pairs as a request's headers would hold them.
func headers(pairs ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(pairs); i += 2 {
		h.Set(pairs[i], pairs[i+1])
	}
	return h
}
