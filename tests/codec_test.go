//go:build integration

package tests

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"orderflow/config"
	"orderflow/dev/sandbox/billing"
	"orderflow/dev/sandbox/payments"
	"orderflow/observability"
	"orderflow/recovery"
	"orderflow/starter"
	"orderflow/store"
	"orderflow/temporalclient"
	"orderflow/temporalclient/codec"
	"orderflow/tracking"
	"orderflow/workflows"
)

// The customer data the histories must not show without the codec: each
// value is distinctive enough that finding it by chance in ciphertext or in
// an unrelated field is out of the question.
const (
	codecPhone    = "9812376450"
	codecName     = "Meenakshi Raghunathan"
	codecTotal    = 18734.25
	codecTotalStr = "18734.25"
	codecAmount   = 918273 // the invoice's amount, in minor units
)

func newKey(t *testing.T) string {
	t.Helper()
	k := make([]byte, config.CodecKeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

// withCodec turns encryption on with keys (id → base64), active the new payloads' key.
func withCodec(keys config.CodecKeys, active string) func(*config.Config) {
	return func(c *config.Config) {
		c.Temporal.Codec = config.Codec{Enabled: true, Keys: keys, ActiveKeyID: active}
	}
}

// plainClient reads Temporal as an operator without the keys would: no codec.
func plainClient(t *testing.T) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: env.temporalAddr, Namespace: "default",
		Logger: observability.TemporalLogger(zap.NewNop())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// insertCustomerOrder adds a merchant order whose customer is codecName.
func (s *stack) insertCustomerOrder() string {
	s.t.Helper()
	ctx := context.Background()
	mp := bson.NewObjectID()
	if _, err := s.store.Database().Collection(store.MarketplacesCollection).InsertOne(ctx, bson.M{"_id": mp, "name": "Shopify"}); err != nil {
		s.t.Fatal(err)
	}
	id := bson.NewObjectID()
	if _, err := s.store.Database().Collection(store.OrdersCollection).InsertOne(ctx, bson.M{
		"_id": id, "marketplace": mp, "customer": bson.M{"name": codecName, "phone": codecPhone},
		"total_amt": codecTotal, "awb": "AWB" + id.Hex()[18:], "courier_name": "delhivery", "tracking_status": "in transit",
	}); err != nil {
		s.t.Fatal(err)
	}
	return id.Hex()
}

// The probe: a workflow given an order, a signal with its payment method and
// a memo naming the customer, whose activity fails quoting all of it, as an
// integration's error message might.
type probeOrder struct {
	Phone string  `json:"phone"`
	Name  string  `json:"name"`
	Total float64 `json:"total"`
}

const (
	probeWorkflow = "CodecProbe"
	probeActivity = "CodecProbeRefuse"
	probeSignal   = "payment_method"
	probeQuery    = "state"
)

func codecProbe(ctx workflow.Context, o probeOrder) (string, error) {
	state := "waiting"
	if err := workflow.SetQueryHandler(ctx, probeQuery, func() (string, error) { return state, nil }); err != nil {
		return "", err
	}
	var pm string
	workflow.GetSignalChannel(ctx, probeSignal).Receive(ctx, &pm)
	state = o.Phone + " pays with " + pm
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumAttempts: 2},
	})
	err := workflow.ExecuteActivity(ctx, probeActivity, o, pm).Get(ctx, nil)
	return state, err
}

func codecProbeRefuse(_ context.Context, o probeOrder, pm string) error {
	return fmt.Errorf("the CRM refused the order of %s (%s), total %.2f, paid with %s", o.Name, o.Phone, o.Total, pm)
}

func startProbeWorker(t *testing.T, tc client.Client, queue string) sdkworker.Worker {
	t.Helper()
	w := sdkworker.New(tc, queue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(codecProbe, workflow.RegisterOptions{Name: probeWorkflow})
	w.RegisterActivityWithOptions(codecProbeRefuse, activity.RegisterOptions{Name: probeActivity})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	return w
}

// After an RTO, a recovery and an activity failing with a message quoting
// the order, the raw history (read without the codec) holds none of the
// phone number, customer name, total, invoice amount or payment-method id;
// read through the codec every one of them is there.
func TestHistoriesHoldNoOrderDataWithoutTheCodec(t *testing.T) {
	r := newRecoveryStack(t, withCodec(config.CodecKeys{"it-2025": newKey(t)}, "it-2025"))
	r.startWorker()
	r.configureRTOWebhook()
	r.setup(seconds)
	ctx := context.Background()

	// An RTO: the CRM receives the order's data, Temporal only ciphertext.
	order := r.insertCustomerOrder()
	r.waitWorkflow(r.report(order, tracking.RTO, base), nil)
	var rto workflows.RTOCancelResult
	r.waitWorkflow(workflows.RTOCancelWorkflowID(order), &rto)
	if got := r.crm.Accepted(); len(got) != 1 || got[0].Body["phone_number"] != codecPhone || got[0].Body["order_value"] != codecTotal {
		t.Fatalf("the CRM got %+v", got)
	}

	// A recovery: the payment-method id and the amount travel through Temporal.
	inv := r.invoice("inv_codec")
	inv.PaymentMethod, inv.Amount = "pm_codec_DISTINCT_6a1f", codecAmount
	r.processor.Script(inv.PaymentMethod, payments.Outcome{Kind: payments.Decline, DeclineCode: "insufficient_funds"})
	if code := r.send(recovery.StripeBilling, billing.Failed, inv); code != 200 {
		t.Fatalf("billing webhook answered %d", code)
	}
	var rec workflows.RecoveryResult
	r.waitWorkflow(workflows.RevenueRecoveryWorkflowID(r.profileID, inv.ID), &rec)
	if rec.Status != workflows.RecoverySucceededInternal {
		t.Fatalf("recovery %+v", rec)
	}
	if charges := r.processor.ChargesFor(inv.ID); len(charges) == 0 || charges[0].PaymentMethod != inv.PaymentMethod {
		t.Fatalf("charges %+v", charges)
	}

	// An activity failing with a message that quotes the order.
	probeQueue := r.cfg.Temporal.TaskQueue + "-probe"
	defer startProbeWorker(t, r.temporal, probeQueue).Stop()
	run, err := r.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "codec-probe-" + order, TaskQueue: probeQueue, Memo: map[string]any{"customer": codecName},
	}, probeWorkflow, probeOrder{Phone: codecPhone, Name: codecName, Total: codecTotal})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.temporal.SignalWorkflow(ctx, run.GetID(), "", probeSignal, inv.PaymentMethod); err != nil {
		t.Fatal(err)
	}
	err = run.Get(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), codecPhone) || !strings.Contains(err.Error(), inv.PaymentMethod) {
		t.Fatalf("through the codec the probe's failure reads %v", err)
	}
	q, err := r.temporal.QueryWorkflow(ctx, run.GetID(), "", probeQuery)
	var state string
	if err != nil || q.Get(&state) != nil || state != codecPhone+" pays with "+inv.PaymentMethod {
		t.Fatalf("query through the codec: %q, %v", state, err)
	}

	secrets := []string{codecPhone, codecName, codecTotalStr, fmt.Sprint(codecAmount), inv.PaymentMethod}
	plain := plainClient(t)
	c, err := temporalclient.NewCodec(r.cfg.Temporal.Codec, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var raw, decoded bytes.Buffer
	ids := r.listWorkflows(plain, fmt.Sprintf("TaskQueue = %q OR TaskQueue = %q", r.cfg.Temporal.TaskQueue, probeQueue), &raw,
		workflows.RTOCancelWorkflowID(order), workflows.RevenueRecoveryWorkflowID(r.profileID, inv.ID), run.GetID())
	for _, id := range ids {
		for _, ev := range history(t, plain, id) {
			b, err := proto.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			raw.Write(b)
			decodePayloads(t, c, ev, &decoded)
		}
	}
	for _, v := range secrets {
		if bytes.Contains(raw.Bytes(), []byte(v)) {
			t.Errorf("%q is readable in a history or workflow list without the codec", v)
		}
		if !bytes.Contains(decoded.Bytes(), []byte(v)) {
			t.Errorf("%q is not in the histories read through the codec", v)
		}
	}
	if !strings.Contains(raw.String(), codec.Encoding) {
		t.Error("no payload in the histories is encrypted")
	}
}

// listWorkflows lists the workflows query matches once the visibility store
// shows each of closed as closed, and writes the raw listing (memos
// included) to raw.
func (s *stack) listWorkflows(c client.Client, query string, raw *bytes.Buffer, closed ...string) []string {
	s.t.Helper()
	var ids []string
	eventually(s.t, time.Minute, "the workflows to be listed as closed", func() bool {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1000})
		if err != nil {
			return false
		}
		ids = ids[:0]
		open := map[string]bool{}
		for _, id := range closed {
			open[id] = true
		}
		for _, e := range resp.Executions {
			ids = append(ids, e.Execution.WorkflowId)
			if e.Status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
				delete(open, e.Execution.WorkflowId)
			}
		}
		b, err := proto.Marshal(resp)
		if err != nil {
			return false
		}
		raw.Reset()
		raw.Write(b)
		return len(open) == 0
	})
	return ids
}

func history(t *testing.T, c client.Client, workflowID string) []*historypb.HistoryEvent {
	t.Helper()
	var out []*historypb.HistoryEvent
	it := c.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// decodePayloads writes every payload of m, decrypted, to out.
func decodePayloads(t *testing.T, c *codec.Codec, m proto.Message, out *bytes.Buffer) {
	t.Helper()
	walk(m.ProtoReflect(), func(m protoreflect.Message) {
		p, ok := m.Interface().(*commonpb.Payload)
		if !ok {
			return
		}
		dec, err := c.Decode([]*commonpb.Payload{p})
		if err != nil {
			t.Errorf("decode a history payload: %v", err)
			return
		}
		out.Write(dec[0].GetData())
		out.WriteByte('\n')
	})
}

// walk visits m and every message inside it.
func walk(m protoreflect.Message, visit func(protoreflect.Message)) {
	visit(m)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				walk(v.List().Get(i).Message(), visit)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				walk(mv.Message(), visit)
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			walk(v.Message(), visit)
		}
		return true
	})
}

// A payload under a key the worker does not list fails the workflow task,
// never the workflow, with a log line naming the key; once the key is listed
// again the workflow completes.
func TestUnlistedKeyFailsTheTaskUntilTheKeyIsListedAgain(t *testing.T) {
	oldKey, newKeyB64 := newKey(t), newKey(t)
	s := newStack(t, withCodec(config.CodecKeys{"it-old": oldKey}, "it-old"))
	ctx := context.Background()
	queue := s.cfg.Temporal.TaskQueue + "-probe"
	run, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "codec-unlisted-" + queue, TaskQueue: queue},
		probeWorkflow, probeOrder{Phone: codecPhone, Name: codecName, Total: codecTotal})
	if err != nil {
		t.Fatal(err)
	}

	// A worker that lists only the new key cannot read the workflow's input.
	newOnly := s.cfg.Temporal
	newOnly.Codec = config.Codec{Enabled: true, Keys: config.CodecKeys{"it-new": newKeyB64}, ActiveKeyID: "it-new"}
	logger, err := observability.NewLogger("debug", s.logs)
	if err != nil {
		t.Fatal(err)
	}
	metrics := observability.NewMetrics()
	tcNew, err := temporalclient.Dial(newOnly, logger, metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer tcNew.Close()
	w := startProbeWorker(t, tcNew, queue)
	eventually(t, time.Minute, "a workflow task to fail on the unlisted key", func() bool {
		for _, ev := range history(t, s.temporal, run.GetID()) {
			if ev.GetEventType() == enums.EVENT_TYPE_WORKFLOW_TASK_FAILED {
				return true
			}
		}
		return false
	})
	w.Stop()
	if !strings.Contains(s.logs.String(), `"key_id":"it-old"`) {
		t.Error("no log line names the unlisted key it-old")
	}
	if strings.Contains(s.logs.String(), oldKey) || strings.Contains(s.logs.String(), newKeyB64) {
		t.Error("a log line quotes a key")
	}
	if n := decodeFailureCount(t, metrics, "it-old"); n < 1 {
		t.Errorf("%s{key_id=\"it-old\"} = %v, want ≥ 1", temporalclient.DecodeFailuresMetric, n)
	}
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, run.GetID(), "")
	if err != nil || desc.WorkflowExecutionInfo.Status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("the workflow must still be running: %v %v", desc, err)
	}

	// Listed again (the new key active, the old one still listed): it completes.
	both := newOnly
	both.Codec = config.Codec{Enabled: true, Keys: config.CodecKeys{"it-old": oldKey, "it-new": newKeyB64}, ActiveKeyID: "it-new"}
	tcBoth, err := temporalclient.Dial(both, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tcBoth.Close()
	defer startProbeWorker(t, tcBoth, queue).Stop()
	if err := s.temporal.SignalWorkflow(ctx, run.GetID(), "", probeSignal, "pm_rotated"); err != nil {
		t.Fatal(err)
	}
	// The failure is encrypted under the new key: read it with a client that lists it.
	err = tcBoth.GetWorkflow(ctx, run.GetID(), "").Get(ctx, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !strings.Contains(err.Error(), codecPhone) {
		t.Fatalf("the probe should end in its activity's error, read through the codec: %v", err)
	}
}

// decodeFailureCount is the decode-failure counter's value for keyID.
func decodeFailureCount(t *testing.T, m *observability.Metrics, keyID string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != temporalclient.DecodeFailuresMetric {
			continue
		}
		for _, metric := range f.GetMetric() {
			for _, l := range metric.GetLabel() {
				if l.GetName() == "key_id" && l.GetValue() == keyID {
					total += metric.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

const codecToken = "codec-token-DISTINCT-0b7e4a19"

// The starter's codec server, as the Temporal UI and CLI use it: a bearer
// token, CORS for the UI's origin only, and decoded payloads of a real history
// (the CLI's `workflow show --codec-endpoint … --codec-auth "Bearer …"`).
func TestCodecServerServesTheUIAndTheCLI(t *testing.T) {
	s := newStack(t, withCodec(config.CodecKeys{"it-cs": newKey(t)}, "it-cs"), func(c *config.Config) {
		c.Temporal.Codec.Server = config.CodecServer{Enabled: true, Token: codecToken, AllowedOrigins: []string{"http://127.0.0.1:8233"}}
	})
	handler, err := starter.WithCodecServer(http.NotFoundHandler(), s.cfg, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	endpoint := srv.URL + starter.CodecPath

	ctx := context.Background()
	queue := s.cfg.Temporal.TaskQueue + "-probe"
	defer startProbeWorker(t, s.temporal, queue).Stop()
	run, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "codec-server-" + queue, TaskQueue: queue},
		probeWorkflow, probeOrder{Phone: codecPhone, Name: codecName, Total: codecTotal})
	if err != nil {
		t.Fatal(err)
	}
	var input *commonpb.Payloads
	for _, ev := range history(t, plainClient(t), run.GetID()) {
		if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			input = a.GetInput()
		}
	}
	body, err := protojson.Marshal(input)
	if err != nil || len(input.GetPayloads()) != 1 || string(input.GetPayloads()[0].GetMetadata()["encoding"]) != codec.Encoding {
		t.Fatalf("the started event's input is not one encrypted payload: %s, %v", body, err)
	}

	codecCall := func(method, path string, headers map[string]string, body []byte) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, endpoint+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(out)
	}
	for name, auth := range map[string]string{"no token": "", "a wrong token": "Bearer codec-token-DISTINCT-0b7e4a18"} {
		if resp, out := codecCall("POST", "/decode", map[string]string{"Authorization": auth, "Content-Type": "application/json"}, body); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d %s, want 401", name, resp.StatusCode, out)
		}
	}
	preflight := map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace"}
	preflight["Origin"] = "http://127.0.0.1:8233"
	if resp, _ := codecCall("OPTIONS", "/decode", preflight, nil); resp.StatusCode != http.StatusNoContent ||
		resp.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:8233" {
		t.Errorf("preflight from the UI's origin: %d %v", resp.StatusCode, resp.Header)
	}
	preflight["Origin"] = "http://127.0.0.1:8234"
	if resp, _ := codecCall("OPTIONS", "/decode", preflight, nil); resp.StatusCode != http.StatusForbidden ||
		resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d %v", resp.StatusCode, resp.Header)
	}
	resp, out := codecCall("POST", "/decode", map[string]string{"Authorization": "Bearer " + codecToken,
		"Content-Type": "application/json", "X-Namespace": "default"}, body)
	var decoded commonpb.Payloads
	if resp.StatusCode != http.StatusOK || protojson.Unmarshal([]byte(out), &decoded) != nil || len(decoded.Payloads) != 1 ||
		!bytes.Contains(decoded.Payloads[0].GetData(), []byte(codecPhone)) {
		t.Fatalf("decode: %d %s", resp.StatusCode, out)
	}

	// The Temporal CLI shows the same history decoded through the endpoint, and only through it.
	root, _ := filepath.Abs("..")
	show := func(extra ...string) string {
		args := append([]string{"workflow", "show", "--address", env.temporalAddr, "--namespace", "default",
			"--workflow-id", run.GetID(), "--output", "json"}, extra...)
		out, err := exec.Command(filepath.Join(root, "bin", "temporal"), args...).CombinedOutput()
		if err != nil {
			t.Fatalf("temporal %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if data := payloadData(t, show("--codec-endpoint", endpoint, "--codec-auth", "Bearer "+codecToken)); !strings.Contains(data, codecPhone) {
		t.Errorf("the CLI through the codec server does not show the phone number; its payloads:\n%s", data)
	}
	if data := payloadData(t, show()); strings.Contains(data, codecPhone) || !strings.Contains(data, codec.Encoding) {
		t.Errorf("the CLI without the codec shows the phone number or no encrypted payload:\n%s", data)
	}
	if err := s.temporal.SignalWorkflow(ctx, run.GetID(), "", probeSignal, "pm_cli"); err != nil {
		t.Fatal(err)
	}
}

// payloadData is every payload of a `temporal … --output json` answer: its
// metadata and data, base64-decoded, one a line.
func payloadData(t *testing.T, out string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("the CLI's JSON: %v", err)
	}
	var b strings.Builder
	var visit func(any)
	visit = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				visit(e)
			}
		case map[string]any:
			if data, ok := x["data"].(string); ok {
				if meta, ok := x["metadata"].(map[string]any); ok {
					for _, m := range meta {
						s, _ := m.(string)
						b.Write(unbase64(t, s))
						b.WriteByte(' ')
					}
					b.Write(unbase64(t, data))
					b.WriteByte('\n')
				}
			}
			for _, e := range x {
				visit(e)
			}
		}
	}
	visit(v)
	return b.String()
}

func unbase64(t *testing.T, s string) []byte {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Errorf("a payload field of the CLI's JSON is not base64: %v", err)
	}
	return raw
}
