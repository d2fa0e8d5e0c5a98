//go:build integration

// Package tests holds orderflow's integration tests: a real Temporal dev
// server (bin/temporal, started once per package), a real Mongo wire protocol
// (embedded FerretDB on SQLite in a temp dir), real HTTP on loopback, and the
// sandbox CRM standing in for the merchant's.
package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"

	"orderflow/config"
	"orderflow/dev/bench/rig"
	"orderflow/dev/devstore"
	"orderflow/dev/sandbox/crm"
	"orderflow/dev/sandbox/demo"
	"orderflow/ingress"
	"orderflow/observability"
	"orderflow/store"
	"orderflow/temporalclient"
	"orderflow/worker"
	"orderflow/workflows"
)

// Distinctive secret values: no log line or API response may ever contain them.
const (
	apiKey          = "apikey-DISTINCT-4f1e9b7c2a"
	crmClientID     = "orderflow-client"
	crmClientSecret = "crm-secret-DISTINCT-8d3c6a51"
	// Push webhook credentials of account "acme" (tests/push_test.go).
	clickpostKey     = "cpkey-DISTINCT-7a2b9c4d1e55"
	fulfilmentSecret = "ffsec-DISTINCT-3c8e1f7a2b66"
	// Courier push tokens of account "acme" (tests/courierpush_test.go).
	shiprocketPushToken = "srtok-DISTINCT-5e1a9d3c7b44"
	delhiveryPushToken  = "dltok-DISTINCT-9b2f6e4a1c88"
)

var env struct {
	temporalAddr string
	mongoURI     string
	workerBin    string
	tmp          string
	seq          atomic.Int32
}

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	root, _ := filepath.Abs("..")
	temporalBin := filepath.Join(root, "bin", "temporal")
	if _, err := os.Stat(temporalBin); err != nil {
		fmt.Fprintln(os.Stderr, "bin/temporal is missing: run `make test`, which builds it")
		return 1
	}
	tmp, err := os.MkdirTemp("", "orderflow-it")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(tmp)
	env.tmp = tmp

	ctx := context.Background()
	dev, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  temporalBin,
		LogLevel:      "error",
		ClientOptions: &client.Options{Namespace: "default", Logger: observability.TemporalLogger(zap.NewNop())},
		ExtraArgs: append(workflows.DevServerFlags(),
			"--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=true"),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start dev server:", err)
		return 1
	}
	defer func() { _ = dev.Stop() }()
	env.temporalAddr = dev.FrontendHostPort()

	fdb, err := devstore.Start(devstore.Options{Addr: "127.0.0.1:0", Dir: filepath.Join(tmp, "ferretdb")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start ferretdb:", err)
		return 1
	}
	defer func() { _ = fdb.Stop() }()
	env.mongoURI = fdb.URI()

	env.workerBin = filepath.Join(tmp, "worker")
	build := exec.Command("go", "build", "-o", env.workerBin, "./cmd/worker")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build worker:", err)
		return 1
	}
	return m.Run()
}

// syncBuffer collects log lines from several goroutines and processes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// stack is one isolated orderflow: its own database, task queue, CRM and API.
type stack struct {
	t          *testing.T
	cfg        config.Config
	store      *store.Store
	temporal   client.Client
	crm        *crm.CRM
	crmURL     string
	api        *httptest.Server
	logs       *syncBuffer
	responses  *syncBuffer // every API response body, for the secret check
	stopWorker func()
}

// newStack builds a stack; opts adjust its configuration before it is
// validated and the Temporal client is dialled (e.g. turning the codec on).
func newStack(t *testing.T, opts ...func(*config.Config)) *stack {
	t.Helper()
	n := env.seq.Add(1)
	cfg := config.Default()
	cfg.Temporal.Address = env.temporalAddr
	cfg.Temporal.TaskQueue = fmt.Sprintf("orderflow-it-%d", n)
	cfg.Mongo.URI = env.mongoURI
	cfg.Mongo.Database = fmt.Sprintf("it%d", n)
	cfg.HTTP.APIKey = apiKey
	cfg.CRM.RequestTimeout = 3 * time.Second
	// The endpoint breaker scaled to seconds: a CRM kept down by a test
	// (5 failures open it) is probed every second once it is back.
	cfg.Delivery.Breaker.HalfOpenInterval = time.Second
	cfg.Push.ClickpostKeys = config.Credentials{"acme": {clickpostKey}}
	cfg.Push.FulfilmentSecrets = config.Credentials{"acme": {fulfilmentSecret}}
	cfg.Push.ShiprocketTokens = config.Credentials{"acme": {shiprocketPushToken}}
	cfg.Push.DelhiveryTokens = config.Credentials{"acme": {delhiveryPushToken}}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, cfg: cfg, logs: &syncBuffer{}, responses: &syncBuffer{}}
	logger, err := observability.NewLogger("debug", s.logs)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if s.store, err = store.Connect(ctx, cfg.Mongo.URI, cfg.Mongo.Database, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.store.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if s.temporal, err = temporalclient.Dial(cfg.Temporal, logger, nil); err != nil {
		t.Fatal(err)
	}
	s.crm = crm.New(crmClientID, crmClientSecret, time.Hour)
	crmSrv := httptest.NewServer(s.crm.Handler())
	s.crmURL = crmSrv.URL
	s.api = httptest.NewServer(ingress.Router(ingress.Deps{
		Store: s.store, Temporal: s.temporal, TaskQueue: cfg.Temporal.TaskQueue, APIKey: apiKey,
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes, Logger: logger, Metrics: observability.NewMetrics(),
		Push: cfg.Push, Breaker: cfg.Delivery.Breaker,
	}))
	t.Cleanup(func() {
		if s.stopWorker != nil {
			s.stopWorker()
		}
		s.api.Close()
		crmSrv.Close()
		s.temporal.Close()
		s.assertNoSecretLeaked()
		if t.Failed() {
			t.Logf("logs of the failed test:\n%s", s.logs.String())
		}
		_ = s.store.Database().Drop(context.Background())
		_ = s.store.Close(context.Background())
	})
	return s
}

// startWorker runs, in this process, every worker the worker binary runs for
// the stack's config (worker.New), logging to the stack's logs.
func (s *stack) startWorker() {
	s.t.Helper()
	logger, _ := observability.NewLogger("debug", s.logs)
	tc, err := temporalclient.Dial(s.cfg.Temporal, logger, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	ws := worker.New(worker.Deps{Config: s.cfg, Store: s.store, Temporal: tc})
	if err := ws.Start(); err != nil {
		tc.Close()
		s.t.Fatal(err)
	}
	s.stopWorker = func() { ws.Stop(); tc.Close() }
}

// startWorkerProcess runs the real worker binary, configured through the
// environment as in production, and returns it so a test can kill it.
func (s *stack) startWorkerProcess() *exec.Cmd {
	s.t.Helper()
	cmd := exec.Command(env.workerBin)
	cmd.Env = rig.ProcessEnv(s.cfg, apiKey, "debug")
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// call sends an API request with the API key and decodes a JSON answer.
func (s *stack) call(method, path string, body any) (int, map[string]any) {
	s.t.Helper()
	return s.raw(method, path, map[string]string{"X-API-Key": apiKey}, s.encode(body))
}

// encode is a request body: a string or bytes as they are, anything else as JSON.
func (s *stack) encode(body any) []byte {
	s.t.Helper()
	switch b := body.(type) {
	case nil:
		return nil
	case string:
		return []byte(b)
	case []byte:
		return b
	}
	raw, err := json.Marshal(body)
	if err != nil {
		s.t.Fatal(err)
	}
	return raw
}

// raw sends a request with only the given headers (a push sender sends no API
// key), records the answer for the secret scan and decodes it as JSON.
func (s *stack) raw(method, path string, headers map[string]string, body []byte) (int, map[string]any) {
	s.t.Helper()
	code, m, err := s.tryRaw(method, path, headers, body)
	if err != nil {
		s.t.Fatal(err)
	}
	return code, m
}

// tryRaw is raw returning its error, for goroutines other than the test's
// (t.Fatal stops only the goroutine that runs the test).
func (s *stack) tryRaw(method, path string, headers map[string]string, body []byte) (int, map[string]any, error) {
	req, err := http.NewRequest(method, s.api.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	_, _ = s.responses.Write(append(out, '\n'))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	var m map[string]any
	_ = json.Unmarshal(out, &m) // not every answer is a JSON object; callers check the fields they need
	return resp.StatusCode, m, nil
}

// get walks keys down nested JSON objects and returns the value as a T; a
// missing key or another type fails the test instead of panicking.
func get[T any](t testing.TB, m map[string]any, keys ...string) T {
	t.Helper()
	v, err := lookup[T](m, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// lookup is get returning an error, for goroutines other than the test's.
func lookup[T any](m map[string]any, keys ...string) (T, error) {
	var zero T
	var v any = m
	for i, k := range keys {
		obj, ok := v.(map[string]any)
		if !ok {
			return zero, fmt.Errorf("%s is %T, want an object", strings.Join(keys[:i], "."), v)
		}
		v = obj[k]
	}
	out, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("%s is %T (%v), want %T", strings.Join(keys, "."), v, v, zero)
	}
	return out, nil
}

// as is v as a T; another type fails the test instead of panicking.
func as[T any](t testing.TB, v any, what string) T {
	t.Helper()
	out, ok := v.(T)
	if !ok {
		t.Fatalf("%s is %T (%v), want %T", what, v, v, out)
	}
	return out
}

// items is the objects of a list answer's "items".
func (s *stack) items(path string) []map[string]any {
	s.t.Helper()
	list := get[[]any](s.t, s.mustCall(200, "GET", path, nil), "items")
	out := make([]map[string]any, len(list))
	for i, it := range list {
		out[i] = as[map[string]any](s.t, it, fmt.Sprintf("GET %s item %d", path, i))
	}
	return out
}

// count is how many documents a collection holds; an error fails the test
// rather than reading as zero documents.
func (s *stack) count(collection string) int64 {
	s.t.Helper()
	n, err := s.store.Database().Collection(collection).CountDocuments(context.Background(), bson.D{})
	if err != nil {
		s.t.Fatalf("count %s: %v", collection, err)
	}
	return n
}

// mustCall is call that fails the test unless the answer has code want.
func (s *stack) mustCall(want int, method, path string, body any) map[string]any {
	s.t.Helper()
	code, out := s.call(method, path, body)
	if code != want {
		s.t.Fatalf("%s %s: got %d %v, want %d", method, path, code, out, want)
	}
	return out
}

// configureRTOWebhook creates the RTO webhook configuration (event, auth,
// payload, condition, webhook) through the API, pointing at
// the sandbox CRM, and returns the webhook's id.
func (s *stack) configureRTOWebhook() string {
	s.t.Helper()
	id, err := demo.ConfigureRTOWebhook(func(path string, body any) (map[string]any, error) {
		return s.mustCall(201, "POST", path, body), nil
	}, demo.CRMCredentials{BaseURL: s.crmURL, ClientID: crmClientID, ClientSecret: crmClientSecret})
	if err != nil || id == "" {
		s.t.Fatalf("configure the RTO webhook: %q, %v", id, err)
	}
	return id
}

// insertOrder adds a merchant order (and its marketplace) as the merchant's own system would.
func (s *stack) insertOrder(phone string, total float64) string {
	s.t.Helper()
	ctx := context.Background()
	mp := bson.NewObjectID()
	if _, err := s.store.Database().Collection(store.MarketplacesCollection).InsertOne(ctx, bson.M{"_id": mp, "name": "Shopify"}); err != nil {
		s.t.Fatal(err)
	}
	id := bson.NewObjectID()
	_, err := s.store.Database().Collection(store.OrdersCollection).InsertOne(ctx, bson.M{
		"_id": id, "marketplace": mp, "customer": bson.M{"name": "Asha", "phone": phone},
		"total_amt": total, "awb": "AWB" + id.Hex()[18:], "courier_name": "delhivery", "tracking_status": "in transit",
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return id.Hex()
}

// report posts a status observation for an order and returns the StatusUpdate workflow ID.
func (s *stack) report(orderID, status string, at time.Time) string {
	s.t.Helper()
	id, err := s.tryReport(orderID, status, at)
	if err != nil {
		s.t.Fatal(err)
	}
	return id
}

// tryReport is report returning its error, for goroutines other than the test's.
func (s *stack) tryReport(orderID, status string, at time.Time) (string, error) {
	body, err := json.Marshal(map[string]any{"status": status, "source": "it", "event_time": at})
	if err != nil {
		return "", err
	}
	code, out, err := s.tryRaw("POST", "/v1/orders/"+orderID+"/tracking", map[string]string{"X-API-Key": apiKey}, body)
	if err != nil {
		return "", err
	}
	if code != 202 && code != 200 {
		return "", fmt.Errorf("report %s: %d %v", status, code, out)
	}
	return lookup[string](out, "workflow_id")
}

// waitWorkflow waits for a workflow to close and decodes its result.
func (s *stack) waitWorkflow(id string, result any) {
	s.t.Helper()
	if err := s.tryWaitWorkflow(id, result); err != nil {
		s.t.Fatal(err)
	}
}

// tryWaitWorkflow is waitWorkflow returning its error, for goroutines other than the test's.
func (s *stack) tryWaitWorkflow(id string, result any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := s.temporal.GetWorkflow(ctx, id, "").Get(ctx, result); err != nil {
		return fmt.Errorf("workflow %s: %w", id, err)
	}
	return nil
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// assertNoSecretLeaked fails the test if a secret reached a log line or an API response.
func (s *stack) assertNoSecretLeaked() {
	secrets := append([]string{apiKey, crmClientSecret, clickpostKey, fulfilmentSecret, shiprocketPushToken, delhiveryPushToken,
		rotatedKeyOld, rotatedKeyNew},
		s.crm.IssuedTokens()...)
	secrets = append(secrets, recoverySecrets...)
	for _, where := range []struct {
		name string
		text string
	}{{"logs", s.logs.String()}, {"API responses", s.responses.String()}} {
		for _, secret := range secrets {
			if strings.Contains(where.text, secret) {
				s.t.Errorf("a secret (%.6s…) appeared in %s", secret, where.name)
			}
		}
	}
}

// listRequest lists the workflows that ran on a stack's task queue.
func listRequest(taskQueue string) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("TaskQueue = %q", taskQueue)}
}

// recordHistory saves a workflow's history as `temporal workflow show --output
// json` does, when ORDERFLOW_RECORD_HISTORY_DIR is set: that is how the replay
// tests' histories in workflows/testdata are refreshed after a workflow change.
func (s *stack) recordHistory(workflowID, name string) {
	dir := os.Getenv("ORDERFLOW_RECORD_HISTORY_DIR")
	if dir == "" {
		return
	}
	hist := &historypb.History{}
	iter := s.temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			s.t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	raw, err := protojson.MarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
		s.t.Fatal(err)
	}
}
