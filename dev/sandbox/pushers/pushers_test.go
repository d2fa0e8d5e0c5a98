package pushers

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-resty/resty/v2"

	"orderflow/tracking/push/clickpost"
	"orderflow/tracking/push/delhivery"
	"orderflow/tracking/push/fulfilment"
	"orderflow/tracking/push/shiprocket"
)

// The script's deliveries are valid under the real schemes: every body parses,
// Clickpost carries the key, fulfilment's signature verifies; a 503 is retried.
func TestDemoScriptIsSignedAndParses(t *testing.T) {
	const key, secret = "demo-clickpost-key-0123", "demo-fulfilment-secret-0123"
	const srToken, dlToken = "demo-shiprocket-token-0123", "demo-delhivery-token-0123"
	var mu sync.Mutex
	seen := map[string]int{}
	failFirst := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if failFirst {
			failFirst = false
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/webhooks/clickpost/demo":
			if !clickpost.VerifyKey(r.Header.Get("webhook_key"), []string{key}) {
				t.Errorf("clickpost key missing")
			}
			if _, err := clickpost.Parse(body); err != nil {
				t.Errorf("clickpost body: %v", err)
			}
		case "/webhooks/fulfilment/demo":
			if !fulfilment.Verify(body, r.Header.Get("X-Event-Signature"), []string{secret}) {
				t.Errorf("fulfilment signature does not verify")
			}
			if _, err := fulfilment.ParseDelivery(r.Header.Get("X-Event-Delivery")); err != nil {
				t.Error(err)
			}
			if _, err := fulfilment.Parse(body); err != nil {
				t.Errorf("fulfilment body: %v", err)
			}
		case "/webhooks/shiprocket/demo":
			if !shiprocket.Verify(r.Header.Get("x-api-key"), []string{srToken}) {
				t.Errorf("shiprocket token missing")
			}
			if _, err := shiprocket.Parse(body); err != nil {
				t.Errorf("shiprocket body: %v", err)
			}
		case "/webhooks/delhivery/demo":
			if !delhivery.Verify(r.Header.Get("Authorization"), []string{dlToken}) {
				t.Errorf("delhivery token missing")
			}
			if _, err := delhivery.Parse(body); err != nil {
				t.Errorf("delhivery body: %v", err)
			}
		default:
			t.Errorf("unexpected path %s", r.URL.Path)
		}
		seen[r.URL.Path]++
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	s := Sender{BaseURL: srv.URL, Account: "demo", ClickpostKey: key, FulfilmentSecret: secret,
		ShiprocketToken: srToken, DelhiveryToken: dlToken, Attempts: 3, Client: resty.New()}
	orders := []Order{{"o1", "A1"}, {"o2", "A2"}, {"o3", "A3"}, {"o4", "A4"}}
	script := DemoScript(orders, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	for _, d := range script {
		if code, _, err := s.Send(context.Background(), d); err != nil || code != 200 {
			t.Fatalf("%s: %d %v", d.Note, code, err)
		}
	}
	total := seen["/webhooks/clickpost/demo"] + seen["/webhooks/fulfilment/demo"] + seen["/webhooks/shiprocket/demo"] + seen["/webhooks/delhivery/demo"]
	if total != len(script) || seen["/webhooks/fulfilment/demo"] == 0 || seen["/webhooks/shiprocket/demo"] == 0 || seen["/webhooks/delhivery/demo"] == 0 {
		t.Errorf("seen %v for %d deliveries", seen, len(script))
	}
}
