package ingress

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"orderflow/config"
	"orderflow/observability"
	"orderflow/tracking/push"
)

// Every registered source is complete, named as an account may be, and
// mounted once; every alias names the account.
func TestEveryPushSourceIsComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, src := range pushSources {
		if !accountPattern.MatchString(src.name) || seen[src.name] {
			t.Errorf("source %q: bad or repeated name", src.name)
		}
		seen[src.name] = true
		if src.configured == nil || src.verifier == nil || src.event == nil {
			t.Errorf("source %q lacks its credentials, verifier or parser", src.name)
		}
		for _, alias := range src.aliases {
			if !strings.HasPrefix(alias, "/webhooks/") || !strings.HasSuffix(alias, "/{account}") {
				t.Errorf("source %q: alias %q must be /webhooks/…/{account}", src.name, alias)
			}
		}
	}
	for _, want := range []string{"clickpost", "fulfilment", "shiprocket", "delhivery"} {
		if !seen[want] {
			t.Errorf("source %q is not registered", want)
		}
	}
}

// Each push credential key of the configuration belongs to exactly one
// source: a key added to config.Push without a source (or the reverse) fails here.
func TestEveryConfiguredPushKeyBelongsToOneSource(t *testing.T) {
	var p config.Push
	v := reflect.ValueOf(&p).Elem()
	for i := 0; i < v.NumField(); i++ {
		v.Field(i).Set(reflect.ValueOf(config.Credentials{v.Type().Field(i).Name: {"x"}}))
	}
	owners := map[string][]string{}
	for _, src := range pushSources {
		for field := range src.configured(p) {
			owners[field] = append(owners[field], src.name)
		}
	}
	for i := 0; i < v.NumField(); i++ {
		if field := v.Type().Field(i).Name; len(owners[field]) != 1 {
			t.Errorf("config.Push.%s is read by sources %v, want exactly one", field, owners[field])
		}
	}
	if len(owners) != len(pushSources) {
		t.Errorf("%d sources read %d keys", len(pushSources), len(owners))
	}
}

// startRecorder stands in for Temporal: it records each workflow started and
// answers a repeated ID as the real server does (already started).
type startRecorder struct {
	client.Client
	mu      sync.Mutex
	started map[string]push.Event
}

func (s *startRecorder) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, _ interface{}, args ...interface{}) (client.WorkflowRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev, ok := args[0].(push.Event)
	if !ok {
		return nil, fmt.Errorf("started with %T, want push.Event", args[0])
	}
	if _, ok := s.started[opts.ID]; ok {
		return nil, alreadyStarted()
	}
	s.started[opts.ID] = ev
	return nil, nil
}

func newPushTestRouter(t *testing.T) (http.Handler, *startRecorder) {
	t.Helper()
	rec := &startRecorder{started: map[string]push.Event{}}
	d := Deps{
		Temporal: rec, TaskQueue: "q", APIKey: "api-key-0123456789", MaxBodyBytes: 4096,
		Logger: zap.NewNop(), Metrics: observability.NewMetrics(),
		Now: func() time.Time { return time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC) },
		Push: config.Push{
			ShiprocketTokens: config.Credentials{"acme": {"sr-old-token-0123456789", "sr-new-token-0123456789"}},
			DelhiveryTokens:  config.Credentials{"acme": {"dl-token-0123456789"}},
		},
	}
	// The push routes alone: with the account's credentials configured, no
	// answer below needs the store.
	mux := http.NewServeMux()
	mountPushWebhooks(mux, d, newPushCredentials(d))
	return mux, rec
}

func post(h http.Handler, path string, headers map[string]string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json") // every push source sends JSON
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func readFixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A verified Shiprocket or Delhivery push starts one PushIngest whose ID
// derives from the event, before the 200; a redelivery is a duplicate; either
// rotated token works; Shiprocket's keyword-free route is the same handler.
// Malformed (400) and oversized (413) bodies start nothing.
func TestShiprocketAndDelhiveryPushesHandOffOnce(t *testing.T) {
	h, rec := newPushTestRouter(t)
	sr := readFixture(t, "../tracking/push/shiprocket/testdata/rto_initiated.json")
	dl := readFixture(t, "../tracking/push/delhivery/testdata/rto_in_transit.json")
	for _, tc := range []struct {
		name, path string
		headers    map[string]string
		body       []byte
		want       int
		wantBody   string
	}{
		{"shiprocket", "/webhooks/shiprocket/acme", map[string]string{"x-api-key": "sr-old-token-0123456789"}, sr, 200, `"duplicate":false`},
		{"shiprocket again, new token", "/webhooks/shiprocket/acme", map[string]string{"X-Api-Key": "sr-new-token-0123456789"}, sr, 200, `"duplicate":true`},
		{"shiprocket keyword-free route", "/webhooks/shipment-tracking/acme", map[string]string{"x-api-key": "sr-new-token-0123456789"}, sr, 200, `"duplicate":true`},
		{"delhivery", "/webhooks/delhivery/acme", map[string]string{"Authorization": "Bearer dl-token-0123456789"}, dl, 200, `"duplicate":false`},
		{"delhivery again, Token scheme", "/webhooks/delhivery/acme", map[string]string{"Authorization": "Token dl-token-0123456789"}, dl, 200, `"duplicate":true`},
		{"shiprocket malformed", "/webhooks/shiprocket/acme", map[string]string{"x-api-key": "sr-new-token-0123456789"}, []byte(`{"awb":`), 400, "invalid shiprocket event"},
		{"shiprocket numbering only", "/webhooks/shiprocket/acme", map[string]string{"x-api-key": "sr-new-token-0123456789"},
			[]byte(`{"awb":"A1","current_status_id":20,"current_timestamp":"21 11 2026 09:14:27"}`), 400, "shipment_status_id"},
		{"delhivery flat variant", "/webhooks/delhivery/acme", map[string]string{"Authorization": "dl-token-0123456789"},
			[]byte(`{"waybill":"A1","status":"In Transit"}`), 400, "Shipment is required"},
		{"shiprocket oversized", "/webhooks/shiprocket/acme", map[string]string{"x-api-key": "sr-new-token-0123456789"}, bytes.Repeat([]byte(" "), 5000), 413, "size limit"},
		{"delhivery oversized", "/webhooks/delhivery/acme", map[string]string{"Authorization": "dl-token-0123456789"}, bytes.Repeat([]byte(" "), 5000), 413, "size limit"},
		{"no plain shiprocket route", "/webhooks/shiprocket", map[string]string{"x-api-key": "sr-new-token-0123456789"}, sr, 404, ""},
	} {
		w := post(h, tc.path, tc.headers, tc.body)
		if w.Code != tc.want || !strings.Contains(w.Body.String(), tc.wantBody) {
			t.Errorf("%s: %d %s, want %d with %s", tc.name, w.Code, w.Body, tc.want, tc.wantBody)
		}
		if strings.Contains(w.Body.String(), "token-0123456789") {
			t.Errorf("%s: the answer holds a token", tc.name)
		}
	}
	if len(rec.started) != 2 {
		t.Fatalf("%d workflows started, want one per distinct event (2): %v", len(rec.started), rec.started)
	}
	for id, ev := range rec.started {
		newest, _ := ev.NewestScan()
		if !strings.HasPrefix(id, "push:"+ev.Source+":acme:") || ev.EventID != id || newest.Status == "" {
			t.Errorf("started %s with %+v", id, ev)
		}
	}
}

func alreadyStarted() error {
	return serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "")
}
