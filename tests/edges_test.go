//go:build integration

package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.temporal.io/api/serviceerror"
	"go.uber.org/zap"

	"orderflow/config"
	"orderflow/dev/bench/rig"
	"orderflow/dev/devstore"
	"orderflow/dev/sandbox/billing"
	"orderflow/ingress"
	"orderflow/observability"
	"orderflow/recovery"
	"orderflow/starter"
	"orderflow/store"
	"orderflow/temporalclient"
	"orderflow/tracking"
	"orderflow/tracking/push/clickpost"
	"orderflow/tracking/push/fulfilment"
	"orderflow/workflows"
)

// answer is one HTTP answer as the edge tests read it.
type answer struct {
	code    int
	header  http.Header
	body    string
	elapsed time.Duration
}

// send sends a request with exactly the given headers (no Content-Type unless
// given) and reads the whole answer.
func send(method, url string, headers map[string]string, body []byte) (answer, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 15 * time.Second}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: read the answer: %w", method, url, err)
	}
	return answer{code: resp.StatusCode, header: resp.Header, body: string(out), elapsed: time.Since(start)}, nil
}

// mustSend is send failing the test on a transport error.
func mustSend(t *testing.T, method, url string, headers map[string]string, body []byte) answer {
	t.Helper()
	a, err := send(method, url, headers, body)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// workflowExists says whether Temporal holds a workflow with this ID (open or closed).
func (s *stack) workflowExists(id string) bool {
	s.t.Helper()
	_, err := s.temporal.DescribeWorkflowExecution(context.Background(), id, "")
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		return true
	case errors.As(err, &notFound):
		return false
	}
	s.t.Fatalf("describe %s: %v", id, err)
	return false
}

// allCounts counts every collection an edge request could write.
func (s *stack) allCounts() map[string]int64 {
	s.t.Helper()
	out := s.counts()
	for _, c := range []string{store.OrdersCollection, store.PushEventsCollection, store.StockLevelsCollection,
		store.PushCredentialsCollection, store.ProfilesCollection, store.ConnectorAccountsCollection,
		store.RecoveryEventsCollection, store.RecoveryAttemptsCollection} {
		out[c] = s.count(c)
	}
	return out
}

func (s *stack) assertCountsUnchanged(before map[string]int64, what string) {
	s.t.Helper()
	after := s.allCounts()
	for c, n := range before {
		if after[c] != n {
			s.t.Errorf("%s: %s went from %d to %d documents", what, c, n, after[c])
		}
	}
}

// (a) With the store down, every route that needs it answers 503 with
// Retry-After within 2 s, and both processes' /healthz say so within 2 s.
// The real starter (starter.Serve) and worker binary run against a FerretDB
// of their own, which the test stops and then starts again: the refused
// requests wrote nothing and started nothing.
func TestStoreOutageAnswers503WithinTwoSeconds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ferretdb")
	fdb, err := devstore.Start(devstore.Options{Addr: "127.0.0.1:0", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	running := true
	t.Cleanup(func() {
		if running {
			_ = fdb.Stop()
		}
	})
	u, err := url.Parse(fdb.URI())
	if err != nil {
		t.Fatal(err)
	}

	n := env.seq.Add(1)
	cfg := config.Default()
	cfg.Temporal.Address = env.temporalAddr
	cfg.Temporal.TaskQueue = fmt.Sprintf("orderflow-it-%d", n)
	cfg.Mongo.URI = fdb.URI()
	cfg.Mongo.Database = fmt.Sprintf("it%d", n)
	cfg.HTTP.APIKey = apiKey
	cfg.HTTP.Listen = freeAddr(t)
	cfg.Worker.MetricsListen = freeAddr(t)
	cfg.Push.ClickpostKeys = config.Credentials{"acme": {clickpostKey}}
	cfg.Push.FulfilmentSecrets = config.Credentials{"acme": {fulfilmentSecret}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger, err := observability.NewLogger("info", logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})

	worker := exec.Command(env.workerBin)
	worker.Env = append(rig.ProcessEnv(cfg, apiKey, "info"), "ORDERFLOW_WORKER_METRICS_LISTEN="+cfg.Worker.MetricsListen)
	worker.Stdout, worker.Stderr = logs, logs
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = worker.Process.Kill(); _ = worker.Wait() })
	workerHealth := "http://" + cfg.Worker.MetricsListen + "/healthz"
	eventually(t, time.Minute, "the worker's /healthz to answer 200", func() bool {
		a, err := send("GET", workerHealth, nil, nil)
		return err == nil && a.code == 200
	})

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- starter.Serve(ctx, cfg, logger) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("starter: %v", err)
		}
	})
	api := "http://" + cfg.HTTP.Listen
	eventually(t, time.Minute, "the starter's /healthz to answer 200", func() bool {
		a, err := send("GET", api+"/healthz", nil, nil)
		return err == nil && a.code == 200
	})

	key := map[string]string{"X-API-Key": apiKey, "Content-Type": "application/json"}
	created := mustSend(t, "POST", api+"/v1/events", key, []byte(`{"name":"order.rto","module_name":"order"}`))
	if created.code != 201 {
		t.Fatalf("create an event: %d %s", created.code, created.body)
	}
	eventPath := created.header.Get("Location")

	if err := fdb.Stop(); err != nil {
		t.Fatal(err)
	}
	running = false

	cpBodyUnknown := cpBody("AWBOUTAGE1", 21, base, nil)
	ffBody := ffOrderBody("FF-OUTAGE", "DELIVERING", "RETURN", base)
	recoveryPayload := []byte(`{"merchant_reference_id":"inv_outage","billing_merchant_connector_id":"64c000000000000000000001",` +
		`"payment_merchant_connector_id":"64c000000000000000000002","action":"no_action"}`)
	type route struct {
		method, path string
		headers      map[string]string
		body         []byte
	}
	routes := []route{
		{"GET", "/healthz", nil, nil},
		{"POST", "/v1/events", key, []byte(`{"name":"order.delivered","module_name":"order"}`)},
		{"GET", eventPath, key, nil},
		{"PUT", eventPath, key, []byte(`{"name":"order.rto","module_name":"order"}`)},
		{"DELETE", eventPath, key, nil},
		{"GET", "/v1/webhook-deliveries", key, nil},
		{"GET", "/v1/push-events", key, nil},
		{"GET", "/v1/stock-levels", key, nil},
		{"GET", "/v1/push-credentials", key, nil},
		{"PUT", "/v1/push-credentials/clickpost/beta", key, []byte(`{"secrets":["cp-outage-0123456789"]}`)},
		{"DELETE", "/v1/push-credentials/clickpost/beta", key, nil},
		// A key or signature the configuration does not hold sends the edge to the store.
		{"POST", "/webhooks/clickpost", map[string]string{"Content-Type": "application/json", "webhook_key": "not-a-configured-key"}, cpBodyUnknown},
		{"POST", "/webhooks/fulfilment", map[string]string{"Content-Type": "application/json", "X-Event-Delivery": "7",
			"X-Event-Signature": fulfilment.Sign(ffBody, "not-a-configured-secret")}, ffBody},
		{"POST", "/webhooks/revenue_recovery/64b000000000000000000001/64c000000000000000000001",
			map[string]string{"Content-Type": "application/json"}, []byte(`{"id":"ev_outage"}`)},
		{"POST", "/v2/payments/recovery", map[string]string{"X-API-Key": apiKey, "Content-Type": "application/json",
			"X-Profile-Id": "64b000000000000000000001"}, recoveryPayload},
	}
	for _, res := range []string{"events", "auths", "payloads", "conditions", "webhooks", "profiles", "connector-accounts"} {
		routes = append(routes, route{"GET", "/v1/" + res, key, nil})
	}
	var slowest time.Duration
	for _, r := range routes {
		a := mustSend(t, r.method, api+r.path, r.headers, r.body)
		slowest = max(slowest, a.elapsed)
		if a.code != 503 || a.header.Get("Retry-After") == "" || a.elapsed > 2*time.Second {
			t.Errorf("%s %s with the store down: %d (Retry-After %q) after %v: %s; want 503 with Retry-After within 2s",
				r.method, r.path, a.code, a.header.Get("Retry-After"), a.elapsed, a.body)
		}
	}
	t.Logf("slowest 503 with the store down: %v", slowest)
	if a := mustSend(t, "GET", workerHealth, nil, nil); a.code != 503 || a.elapsed > 2*time.Second || !strings.Contains(a.body, "mongo") {
		t.Errorf("worker /healthz with the store down: %d after %v: %q; want 503 naming mongo within 2s", a.code, a.elapsed, a.body)
	}
	// A status report is still accepted: Temporal holds it until the store is back.
	report := mustSend(t, "POST", api+"/v1/orders/64a0000000000000000000ee/tracking", key,
		[]byte(`{"status":"rto","source":"it","event_time":"2024-05-01T10:00:00Z"}`))
	if report.code != 202 || report.elapsed > 2*time.Second {
		t.Errorf("status report with the store down: %d after %v: %s; want 202 within 2s", report.code, report.elapsed, report.body)
	}

	// The store comes back on the same address and data: the edge recovers,
	// and the refused requests wrote nothing and started nothing.
	fdb, err = devstore.Start(devstore.Options{Addr: u.Host, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	running = true
	eventually(t, time.Minute, "the starter's /healthz to answer 200 again", func() bool {
		a, err := send("GET", api+"/healthz", nil, nil)
		return err == nil && a.code == 200
	})
	st, err := store.Connect(context.Background(), cfg.Mongo.URI, cfg.Mongo.Database, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close(context.Background()) }()
	tc, err := temporalclient.Dial(cfg.Temporal, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	var upd workflows.StatusUpdateResult
	ctxWait, cancelWait := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancelWait()
	updateID := workflows.StatusUpdateWorkflowID(tracking.Observation{OrderID: "64a0000000000000000000ee", Source: "it",
		Status: tracking.RTO, EventTime: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)})
	if err := tc.GetWorkflow(ctxWait, updateID, "").Get(ctxWait, &upd); err != nil {
		t.Fatalf("the report accepted during the outage: %v", err)
	}
	if upd.Modified != 0 || len(upd.RTOCancelsStarted) != 0 {
		t.Errorf("a report about an order that never appeared changed %d orders and started %v", upd.Modified, upd.RTOCancelsStarted)
	}
	// The refused requests wrote nothing; the accepted report about an order
	// that never appeared is its one push_events record, as unmatched.
	for coll, want := range map[string]int64{store.EventsCollection: 1, store.PushCredentialsCollection: 0,
		store.PushEventsCollection: 1, store.RecoveryEventsCollection: 0, store.OrdersCollection: 0} {
		got, err := st.Database().Collection(coll).CountDocuments(context.Background(), bson.D{})
		if err != nil || got != want {
			t.Errorf("%s holds %d documents (%v), want %d", coll, got, err, want)
		}
	}
	checkUnmatchedReport(t, st, updateID, "64a0000000000000000000ee")
	list, err := tc.ListWorkflow(context.Background(), listRequest(cfg.Temporal.TaskQueue))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list.Executions {
		if e.Execution.WorkflowId != updateID {
			t.Errorf("a refused request started %s", e.Execution.WorkflowId)
		}
	}
}

// (b) A body is read only when its Content-Type is application/json
// (parameters such as charset pass): anything else is a 415 that writes
// nothing and starts nothing, signature valid or not; the same request as JSON
// is then accepted as new.
func TestContentTypeIsEnforced(t *testing.T) {
	r := newRecoveryStack(t)
	r.setup(seconds)
	r.startWorker()
	order := r.insertOrder("9876512001", 30)
	event := r.mustCall(201, "POST", "/v1/events", map[string]any{"name": "order.rto", "module_name": "order"})
	eventPath := "/v1/events/" + get[string](t, event, "id")

	cp := cpBody(r.awbOf(order), 5, base, nil)
	cpEvent, err := clickpost.Parse(cp)
	if err != nil {
		t.Fatal(err)
	}
	ff := ffOrderBody("FF-CT-1", "WAITING_DELIVERY", "DELIVERING", base)
	inv := r.invoice("inv_ct")
	billingBody, billingEventID := r.billing.Body(recovery.StripeBilling, billing.Failed, inv)
	billingEndpoint := r.endpoint(recovery.StripeBilling)
	billingHeaders := http.Header{}
	if err := billing.Sign(billingHeaders, billingEndpoint, billingEventID, billingBody, time.Now()); err != nil {
		t.Fatal(err)
	}
	recoveryBody := []byte(`{"merchant_reference_id":"inv_ct_api","billing_merchant_connector_id":"` + r.connectors[recovery.CustomBilling] +
		`","payment_merchant_connector_id":"` + r.paymentID + `","action":"no_action"}`)

	withKey := map[string]string{"X-API-Key": apiKey}
	type route struct {
		name, method, url string
		headers           map[string]string
		body              []byte
	}
	routes := []route{
		{"config create", "POST", r.api.URL + "/v1/events", withKey, []byte(`{"name":"order.delivered","module_name":"order"}`)},
		{"config update", "PUT", r.api.URL + eventPath, withKey, []byte(`{"name":"order.renamed","module_name":"order"}`)},
		{"status report", "POST", r.api.URL + "/v1/orders/" + order + "/tracking", withKey, []byte(`{"status":"rto","source":"it"}`)},
		{"push credential", "PUT", r.api.URL + "/v1/push-credentials/clickpost/beta", withKey, []byte(`{"secrets":["cp-ct-0123456789abc"]}`)},
		{"recovery API", "POST", r.api.URL + "/v2/payments/recovery", map[string]string{"X-API-Key": apiKey, "X-Profile-Id": r.profileID}, recoveryBody},
		{"clickpost push", "POST", r.api.URL + "/webhooks/clickpost", map[string]string{"webhook_key": clickpostKey}, cp},
		{"fulfilment push", "POST", r.api.URL + "/webhooks/fulfilment/acme", map[string]string{"X-Event-Delivery": "31",
			"X-Event-Signature": fulfilment.Sign(ff, fulfilmentSecret)}, ff},
		{"billing webhook", "POST", billingEndpoint.URL, map[string]string{"Stripe-Signature": billingHeaders.Get("Stripe-Signature")}, billingBody},
	}
	before := r.allCounts()
	for _, rt := range routes {
		for _, ct := range []string{"", "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "application/jsonx", "application/json;;"} {
			headers := map[string]string{}
			for k, v := range rt.headers {
				headers[k] = v
			}
			if ct != "" {
				headers["Content-Type"] = ct
			}
			a := mustSend(t, rt.method, rt.url, headers, rt.body)
			if a.code != 415 || !strings.Contains(a.body, "application/json") {
				t.Errorf("%s with Content-Type %q: %d %s, want 415 naming application/json", rt.name, ct, a.code, a.body)
			}
		}
	}
	r.assertCountsUnchanged(before, "requests refused for their Content-Type")
	if r.order(order)["tracking_status"] != "in transit" {
		t.Errorf("a refused report changed the order: %v", r.order(order)["tracking_status"])
	}
	for _, id := range []string{
		workflows.PushIngestWorkflowID(clickpost.Source, "acme", cpEvent.Key("acme")),
		workflows.PushIngestWorkflowID(fulfilment.Source, "acme", "31"),
	} {
		if r.workflowExists(id) {
			t.Errorf("a refused push started %s", id)
		}
	}
	if ids := r.byInvoice(inv.ID); len(ids) != 0 {
		t.Errorf("a refused billing event started %v", ids)
	}

	// The same requests as JSON, with a charset or in upper case, are new to orderflow.
	for i, rt := range routes {
		headers := map[string]string{"Content-Type": []string{"application/json; charset=utf-8", "Application/JSON"}[i%2]}
		for k, v := range rt.headers {
			headers[k] = v
		}
		a := mustSend(t, rt.method, rt.url, headers, rt.body)
		if a.code >= 300 || strings.Contains(a.body, `"duplicate":true`) {
			t.Errorf("%s as JSON: %d %s, want accepted as new", rt.name, a.code, a.body)
		}
	}
}

// (c) A status report for an order the store does not hold is a 404 that
// starts nothing, and `make rto` (bin/demo rto) says so. When the store cannot
// answer, the report is accepted, and its StatusUpdate changes nothing,
// starts no RTOCancel for an order that never appears and records the report
// in push_events as unmatched, as pushes about unknown orders are (they stay
// 200: TestUnmatchedAndTestPushesAreRecorded).
func TestStatusReportForUnknownOrder(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.configureRTOWebhook()
	unknown := fmt.Sprintf("%024x", 42)
	before := s.allCounts()
	at := base
	body := s.encode(map[string]any{"status": tracking.RTO, "source": "it", "event_time": at})
	code, out := s.raw("POST", "/v1/orders/"+unknown+"/tracking", map[string]string{"X-API-Key": apiKey}, body)
	if code != 404 || out["error"] == nil {
		t.Errorf("report for an unknown order: %d %v, want 404", code, out)
	}
	updateID := workflows.StatusUpdateWorkflowID(tracking.Observation{OrderID: unknown, Source: "it", Status: tracking.RTO, EventTime: at})
	if s.workflowExists(updateID) || s.workflowExists(workflows.RTOCancelWorkflowID(unknown)) {
		t.Errorf("a report for an unknown order started a workflow")
	}
	s.assertCountsUnchanged(before, "a report for an unknown order")

	// `make rto ORDER=<unknown>` says so and fails.
	demo := filepath.Join(t.TempDir(), "demo")
	build := exec.Command("go", "build", "-o", demo, "./dev/cmd/demo")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build demo: %v\n%s", err, out)
	}
	apiURL, err := url.Parse(s.api.URL)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(demo, "rto", unknown)
	cmd.Env = append(os.Environ(), "ORDERFLOW_HTTP_LISTEN="+apiURL.Host, "ORDERFLOW_HTTP_API_KEY="+apiKey)
	said, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(string(said), "no order "+unknown) || strings.Contains(string(said), "reported rto") {
		t.Errorf("demo rto %s: %v\n%s\nwant a failure saying there is no such order", unknown, err, said)
	}

	// The store cannot answer: the report is accepted, and its StatusUpdate,
	// run once the store is back, finds no order, starts nothing and records
	// the report in push_events as unmatched.
	down, err := store.Connect(context.Background(), s.cfg.Mongo.URI, s.cfg.Mongo.Database, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = down.Close(context.Background()) // every operation on it now fails, as with Mongo unreachable
	logger, _ := observability.NewLogger("info", s.logs)
	api := ingressOn(s, down, logger)
	defer api.Close()
	a := mustSend(t, "POST", api.URL+"/v1/orders/"+unknown+"/tracking",
		map[string]string{"X-API-Key": apiKey, "Content-Type": "application/json"}, body)
	if a.code != 202 {
		t.Fatalf("report while the store cannot answer: %d %s, want 202", a.code, a.body)
	}
	var upd workflows.StatusUpdateResult
	s.waitWorkflow(updateID, &upd)
	if upd.Modified != 0 || len(upd.RTOCancelsStarted) != 0 || s.workflowExists(workflows.RTOCancelWorkflowID(unknown)) ||
		!slices.Equal(upd.Unmatched, []string{unknown}) {
		t.Errorf("StatusUpdate for an order that never appeared: %+v, want it unmatched and nothing started", upd)
	}
	if n := len(s.crm.Received()); n != 0 {
		t.Errorf("CRM received %d POSTs for an unknown order", n)
	}
	checkUnmatchedReport(t, s.store, updateID, unknown)
	before[store.PushEventsCollection]++
	s.assertCountsUnchanged(before, "a report for an order that never appeared")
}

// checkUnmatchedReport wants the status report of workflow id recorded in
// push_events as unmatched, naming the order it reported.
func checkUnmatchedReport(t *testing.T, st *store.Store, id, orderID string) {
	t.Helper()
	evs, err := st.PushEvents(context.Background(), store.PushEventFilter{Source: workflows.StatusReportSource, Outcome: store.PushOutcomeUnmatched})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.ID == id {
			if len(ev.OrderRefs) != 1 || ev.OrderRefs[0].Value != orderID || len(ev.Statuses) != 1 || ev.Statuses[0] != tracking.RTO {
				t.Errorf("the unmatched report's record: %+v", ev)
			}
			return
		}
	}
	t.Errorf("no push_events record of %s as an unmatched status report: %+v", id, evs)
}

// (d) Without credentials, the billing route answers an unknown profile and an
// unknown connector (or another profile's, or a payment connector) with the
// same 404, the same body and the same store lookups, so profile ids cannot
// be probed; nothing is recorded or started.
func TestBillingRouteHidesWhichIDIsUnknown(t *testing.T) {
	r := newRecoveryStack(t)
	r.setup(seconds)
	// The edge's own store, counting the commands each request sends.
	var finds atomic.Int64
	counting := func(o *options.ClientOptions) {
		o.SetMonitor(&event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
			if e.CommandName == "find" {
				finds.Add(1)
			}
		}})
	}
	st, err := store.Connect(context.Background(), r.cfg.Mongo.URI, r.cfg.Mongo.Database, 10*time.Second, counting)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close(context.Background()) }()
	logger, _ := observability.NewLogger("info", r.logs)
	api := ingressOn(r.stack, st, logger)
	defer api.Close()

	inv := r.invoice("inv_probe")
	body, _ := r.billing.Body(recovery.StripeBilling, billing.Failed, inv)
	const unknownProfile, unknownConnector = "64b0000000000000000000ff", "64c0000000000000000000ff"
	other := r.mustCall(201, "POST", "/v1/profiles", map[string]any{"merchant_id": "merchant_other", "webhook_url": "http://127.0.0.1:1/webhooks"})
	otherProfile := get[string](t, other, "id")
	cases := map[string]string{
		"unknown profile, real connector":  unknownProfile + "/" + r.connectors[recovery.StripeBilling],
		"real profile, unknown connector":  r.profileID + "/" + unknownConnector,
		"both unknown":                     unknownProfile + "/" + unknownConnector,
		"another profile's connector":      otherProfile + "/" + r.connectors[recovery.StripeBilling],
		"payment connector, not a billing": r.profileID + "/" + r.paymentID,
	}
	before := r.allCounts()
	var firstBody string
	var firstFinds int64 = -1
	for name, path := range cases {
		startFinds := finds.Load()
		a := mustSend(t, "POST", api.URL+"/webhooks/revenue_recovery/"+path, map[string]string{"Content-Type": "application/json"}, body)
		used := finds.Load() - startFinds
		if a.code != 404 {
			t.Errorf("%s: %d %s, want 404", name, a.code, a.body)
		}
		if firstBody == "" {
			firstBody, firstFinds = a.body, used
		}
		if a.body != firstBody || used != firstFinds {
			t.Errorf("%s: body %q after %d store lookups; another miss answered %q after %d", name, a.body, used, firstBody, firstFinds)
		}
	}
	if firstFinds != 2 {
		t.Errorf("a miss answered after %d lookups; want both the profile and the connector looked up", firstFinds)
	}
	// Ids of no stored shape are misses without a lookup: the same answer.
	if a := mustSend(t, "POST", api.URL+"/webhooks/revenue_recovery/nope/nope", map[string]string{"Content-Type": "application/json"}, body); a.code != 404 || a.body != firstBody {
		t.Errorf("malformed ids: %d %q, want the same 404 %q", a.code, a.body, firstBody)
	}
	r.assertCountsUnchanged(before, "billing events for unknown profiles or connectors")
	if ids := r.byInvoice(inv.ID); len(ids) != 0 {
		t.Errorf("a billing event for an unknown profile or connector started %v", ids)
	}
}

// ingressOn serves the stack's routes over another store (one that is down,
// or one that counts its commands).
func ingressOn(s *stack, st *store.Store, logger *zap.Logger) *httptest.Server {
	return httptest.NewServer(ingress.Router(ingress.Deps{
		Store: st, Temporal: s.temporal, TaskQueue: s.cfg.Temporal.TaskQueue, APIKey: apiKey,
		MaxBodyBytes: s.cfg.HTTP.MaxBodyBytes, Logger: logger, Metrics: observability.NewMetrics(), Push: s.cfg.Push,
	}))
}
