//go:build integration

package tests

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"gopkg.in/yaml.v3"

	"orderflow/store"
)

// counts returns the number of documents in every collection orderflow owns or writes.
func (s *stack) counts() map[string]int64 {
	s.t.Helper()
	out := map[string]int64{}
	for _, c := range []string{store.EventsCollection, store.AuthsCollection, store.PayloadsCollection,
		store.ConditionsCollection, store.WebhooksCollection, store.WebhookDeliveriesCollection, store.RTOClaimsCollection} {
		out[c] = s.count(c)
	}
	return out
}

// (f) Rejected configuration requests answer their code, name the field and store nothing.
func TestRejectedConfigRequestsStoreNothing(t *testing.T) {
	s := newStack(t)
	hookID := s.configureRTOWebhook()
	auths := s.items("/v1/auths")
	payloads := s.items("/v1/payloads")
	if len(auths) == 0 || len(payloads) == 0 {
		t.Fatalf("auths %v, payloads %v: want the configured ones", auths, payloads)
	}
	authID, payloadID := get[string](t, auths[0], "id"), get[string](t, payloads[0], "id")
	missing := bson.NewObjectID().Hex()
	before := s.counts()

	cases := []struct {
		name, method, path string
		body               any
		code               int
		field              string
	}{
		{"event without name", "POST", "/v1/events", `{"module_name":"order"}`, 400, "name"},
		{"duplicate event", "POST", "/v1/events", `{"name":"order.rto","module_name":"order"}`, 409, "name"},
		{"unknown field", "POST", "/v1/events", `{"name":"x.y","module_name":"order","colour":"red"}`, 400, "colour"},
		{"malformed JSON", "POST", "/v1/events", `{"name":`, 400, ""},
		{"Python True", "POST", "/v1/events", `{"name":"a.b","module_name":"order","x":True}`, 400, ""},
		{"wrong type", "POST", "/v1/events", `{"name":5,"module_name":"order"}`, 400, "name"},
		{"auth bad url", "POST", "/v1/auths", `{"auth_url":"ftp://x","auth_payload":{"a":1},"response_token_path":"t"}`, 400, "auth_url"},
		{"auth no token path", "POST", "/v1/auths", `{"auth_url":"http://x/t","auth_payload":{"a":1}}`, 400, "response_token_path"},
		{"auth bad type", "POST", "/v1/auths", `{"type":"basic","auth_url":"http://x/t","auth_payload":{"a":1},"response_token_path":"t"}`, 400, "type"},
		{"payload empty mapping", "POST", "/v1/payloads", `{"module_name":"order","mapping":{}}`, 400, "mapping"},
		{"payload bad leaf", "POST", "/v1/payloads", `{"module_name":"order","mapping":{"a":3}}`, 400, "mapping.a"},
		{"condition bad operator", "POST", "/v1/conditions", `{"event":"order.rto","field":"f","operator":"like","value":"x","group":1}`, 400, "operator"},
		{"condition unknown event", "POST", "/v1/conditions", `{"event":"order.nope","field":"f","operator":"eq","value":"x","group":1}`, 400, "event"},
		{"condition unknown webhook", "POST", "/v1/conditions", `{"event":"order.rto","webhook_id":"` + missing + `","field":"f","operator":"eq","value":"x","group":1}`, 400, "webhook_id"},
		{"webhook unknown auth", "POST", "/v1/webhooks", `{"url":"http://x/h","module_name":"order","events":["order.rto"],"payload_id":"` + payloadID + `","auth_id":"` + missing + `"}`, 400, "auth_id"},
		{"webhook unknown payload", "POST", "/v1/webhooks", `{"url":"http://x/h","module_name":"order","events":["order.rto"],"payload_id":"` + missing + `"}`, 400, "payload_id"},
		{"webhook unknown event", "POST", "/v1/webhooks", `{"url":"http://x/h","module_name":"order","events":["nope"],"payload_id":"` + payloadID + `"}`, 400, "events"},
		{"webhook no events", "POST", "/v1/webhooks", `{"url":"http://x/h","module_name":"order","events":[],"payload_id":"` + payloadID + `"}`, 400, "events"},
		{"webhook bad url", "POST", "/v1/webhooks", `{"url":"not a url","module_name":"order","events":["order.rto"],"payload_id":"` + payloadID + `"}`, 400, "url"},
		{"update unknown id", "PUT", "/v1/webhooks/" + missing, `{"url":"http://x/h","module_name":"order","events":["order.rto"],"payload_id":"` + payloadID + `"}`, 404, ""},
		{"update invalid", "PUT", "/v1/webhooks/" + hookID, `{"url":"http://x/h","module_name":"order","events":["order.rto"],"payload_id":"` + missing + `"}`, 400, "payload_id"},
		{"get unknown id", "GET", "/v1/events/" + missing, nil, 404, ""},
		{"get malformed id", "GET", "/v1/events/zzz", nil, 404, ""},
		{"delete unknown", "DELETE", "/v1/payloads/" + missing, nil, 404, ""},
		{"delete auth in use", "DELETE", "/v1/auths/" + authID, nil, 409, ""},
		{"delete payload in use", "DELETE", "/v1/payloads/" + payloadID, nil, 409, ""},
		{"oversized body", "POST", "/v1/payloads", `{"module_name":"order","mapping":{"a":"` + strings.Repeat("x", 1<<20) + `"}}`, 413, ""},
		{"bad status report", "POST", "/v1/orders/o1/tracking", `{"status":"RTO"}`, 400, ""},
		{"bad deliveries filter", "GET", "/v1/webhook-deliveries?failed=maybe", nil, 400, "failed"},
	}
	for _, tc := range cases {
		code, out := s.call(tc.method, tc.path, tc.body)
		if code != tc.code {
			t.Errorf("%s: got %d %v, want %d", tc.name, code, out, tc.code)
			continue
		}
		if tc.field != "" && out["field"] != tc.field {
			t.Errorf("%s: error names field %v, want %q (%v)", tc.name, out["field"], tc.field, out["error"])
		}
		if out["error"] == nil || out["error"] == "" {
			t.Errorf("%s: no error message", tc.name)
		}
	}

	// Without the API key nothing is read or written.
	for _, key := range []string{"", "wrong-key"} {
		req, _ := http.NewRequest("POST", s.api.URL+"/v1/events", strings.NewReader(`{"name":"a.b","module_name":"order"}`))
		if key != "" {
			req.Header.Set("X-API-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("key %q: got %d, want 401", key, resp.StatusCode)
		}
	}

	after := s.counts()
	for c, n := range before {
		if after[c] != n {
			t.Errorf("%s changed from %d to %d documents after rejected requests", c, n, after[c])
		}
	}
	// Nothing was started either: no status-update workflow for the bad report.
	resp, err := s.temporal.ListWorkflow(context.Background(), listRequest(s.cfg.Temporal.TaskQueue))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Executions) != 0 {
		t.Errorf("rejected requests started %d workflows", len(resp.Executions))
	}
}

// (g) Secrets are write-only: never in an API response (checked here and, for
// every test, on all responses and log lines by the stack's cleanup).
func TestAuthSecretsAreWriteOnly(t *testing.T) {
	s := newStack(t)
	s.configureRTOWebhook()
	auths := s.items("/v1/auths")
	if len(auths) != 1 {
		t.Fatalf("auths %v, want the one configured", auths)
	}
	item := auths[0]
	id := get[string](t, item, "id")
	payload := get[map[string]any](t, item, "auth_payload")
	if _, ok := payload["client_secret"]; ok || payload["client_id"] != crmClientID {
		t.Errorf("auth_payload shown as %v", payload)
	}
	if set := get[[]any](t, item, "write_only_fields_set"); len(set) != 1 || set[0] != "auth_payload.client_secret" {
		t.Errorf("write_only_fields_set = %v", set)
	}

	// An update that leaves the secret out keeps it; the stored value is unchanged.
	s.mustCall(200, "PUT", "/v1/auths/"+id, map[string]any{
		"name": "crm-renamed", "auth_url": s.crmURL + "/oauth/token", "response_token_path": "access_token",
		"auth_payload": map[string]any{"client_id": crmClientID, "grant_type": "client_credentials"},
	})
	got, err := s.store.Auths().Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got.AuthPayload["client_secret"] != crmClientSecret || got.Name != "crm-renamed" {
		t.Errorf("stored auth after update: name %q, secret kept %v", got.Name, got.AuthPayload["client_secret"] == crmClientSecret)
	}
	// Pointing the auth at another host without giving the secret again is
	// refused: a kept secret would otherwise be sent wherever the API key says.
	s.mustCall(400, "PUT", "/v1/auths/"+id, map[string]any{
		"name": "crm-renamed", "auth_url": "http://attacker.invalid/token", "response_token_path": "access_token",
		"auth_payload": map[string]any{"client_id": crmClientID, "grant_type": "client_credentials"},
	})
	if got, err = s.store.Auths().Get(context.Background(), id); err != nil || got.AuthURL != s.crmURL+"/oauth/token" {
		t.Errorf("a refused update changed the auth: %+v, %v", got.AuthURL, err)
	}
	if !strings.Contains(s.responses.String(), crmClientID) {
		t.Fatal("the response check saw no responses: it would miss a leak")
	}
}

// The served OpenAPI document is valid YAML and describes every route the router mounts.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	s := newStack(t)
	resp, err := http.Get(s.api.URL + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	crud := map[string][]string{"": {"get", "post"}, "/{id}": {"get", "put", "delete"}}
	want := map[string][]string{
		"/v1/orders/{order_id}/tracking": {"post"},
		"/v1/orders/{order_id}/rto":      {"get"},
		"/v1/webhook-deliveries":         {"get"},
		// Push webhooks (tests/push_test.go).
		"/v1/push-credentials":                                   {"get"},
		"/v1/push-credentials/{source}/{account}":                {"put", "delete"},
		"/v1/push-events":                                        {"get"},
		"/v1/stock-levels":                                       {"get"},
		"/webhooks/clickpost":                                    {"post"},
		"/webhooks/clickpost/{account}":                          {"post"},
		"/webhooks/fulfilment":                                   {"post"},
		"/webhooks/fulfilment/{account}":                         {"post"},
		"/webhooks/shiprocket/{account}":                         {"post"},
		"/webhooks/shipment-tracking/{account}":                  {"post"},
		"/webhooks/delhivery/{account}":                          {"post"},
		"/v1/recoveries/{profile_id}/{invoice_id}":               {"get"},
		"/v2/payments/recovery":                                  {"post"},
		"/webhooks/revenue_recovery/{profile_id}/{connector_id}": {"post"},
		// Re-drives and test events (tests/redrive_test.go).
		"/v1/redrives":              {"post"},
		"/v1/redrives/{id}":         {"get"},
		"/v1/delivery-records/{id}": {"get"},
		"/v1/delivery-records":      {"get"},
		// Restarting a closed recovery (tests/recovery_restart_test.go).
		"/v1/recoveries/{profile_id}/{invoice_id}/restart": {"post"},
		"/v1/webhooks/{id}/test":                           {"post"},
		"/v1/profiles/{id}/test":                           {"post"},
		// Endpoint health (tests/breaker_test.go).
		"/v1/endpoints/{kind}/{id}":        {"get"},
		"/v1/endpoints/{kind}/{id}/enable": {"post"},
	}
	for _, r := range []string{"events", "auths", "payloads", "conditions", "webhooks", "profiles", "connector-accounts"} {
		for suffix, methods := range crud {
			want["/v1/"+r+suffix] = methods
		}
	}
	for path, methods := range want {
		for _, m := range methods {
			if _, ok := doc.Paths[path][m]; !ok {
				t.Errorf("openapi.yaml lacks %s %s", strings.ToUpper(m), path)
			}
			// And the router really serves it (anything but 404/405 for an unknown id).
			code, _ := s.call(strings.ToUpper(m), strings.NewReplacer("{id}", "0", "{order_id}", "o").Replace(path), "{}")
			if code == http.StatusMethodNotAllowed || (code == http.StatusNotFound && !strings.Contains(path, "{")) {
				t.Errorf("%s %s documented but not served (%d)", m, path, code)
			}
		}
	}
	if len(doc.Paths) != len(want) {
		t.Errorf("openapi.yaml documents %d paths, the router serves %d", len(doc.Paths), len(want))
	}
}
