package ingress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"orderflow/activities"
	"orderflow/recovery"
	"orderflow/workflows"
)

// ingestTemporal is a Temporal frontend whose start and whose ingest run answer as told.
type ingestTemporal struct {
	client.Client
	startErr error
	started  []client.StartWorkflowOptions
	run      ingestRun
}

func (c *ingestTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	c.started = append(c.started, o)
	return nil, c.startErr
}

func (c *ingestTemporal) GetWorkflow(context.Context, string, string) client.WorkflowRun {
	return c.run
}

// ingestRun answers with res, fails with err, or (block) waits for the caller to give up.
type ingestRun struct {
	client.WorkflowRun
	res   workflows.RecoveryIngestResult
	err   error
	block bool
}

func (r ingestRun) Get(ctx context.Context, v any) error {
	if r.block {
		<-ctx.Done()
		return ctx.Err()
	}
	if r.err != nil {
		return r.err
	}
	res, ok := v.(*workflows.RecoveryIngestResult)
	if !ok {
		return fmt.Errorf("Get into %T, want *workflows.RecoveryIngestResult", v)
	}
	*res = r.res
	return nil
}

// The webhook answers with the ingest's decision, 200 "accepted" when it takes
// longer than the wait, 400/404 when the ingest refuses the event, and 503
// when Temporal does not hold it.
func TestIngestAnswers(t *testing.T) {
	decided := workflows.RecoveryIngestResult{Action: recovery.ScheduleFailedPayment, Outcome: workflows.OutcomeSignalled,
		WorkflowID: "revenue-recovery:p:inv_1", InvoiceID: "inv_1"}
	unusable := temporal.NewNonRetryableApplicationError("stripe charge: HTTP 404", activities.ErrTypeBillingEventUnusable, nil)
	missing := temporal.NewNonRetryableApplicationError("billing connector c not found", activities.ErrTypeRecoveryConfig, nil)
	for _, tc := range []struct {
		name        string
		temporal    *ingestTemporal
		wantCode    int
		wantOutcome string
	}{
		{"decided", &ingestTemporal{run: ingestRun{res: decided}}, 200, workflows.OutcomeSignalled},
		{"duplicate answered with the first run's decision", &ingestTemporal{startErr: &serviceerror.WorkflowExecutionAlreadyStarted{},
			run: ingestRun{res: decided}}, 200, workflows.OutcomeSignalled},
		{"slow decision", &ingestTemporal{run: ingestRun{block: true}}, 200, outcomeAccepted},
		{"platform refused the look-up", &ingestTemporal{run: ingestRun{err: unusable}}, 400, ""},
		{"connector gone", &ingestTemporal{run: ingestRun{err: missing}}, 404, ""},
		{"temporal unreachable", &ingestTemporal{startErr: errors.New("connection refused")}, 503, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &recoveryIngress{Deps: Deps{Temporal: tc.temporal, TaskQueue: "q", Logger: zap.NewNop(), Now: time.Now}}
			w := httptest.NewRecorder()
			ctx, cancel := context.WithTimeout(context.Background(), 2*ingestWait)
			defer cancel()
			ev := recovery.Event{EventID: "evt_1", InvoiceID: "inv_1", Platform: recovery.StripeBilling}
			h.ingest(ctx, w, workflows.RecoveryIngestInput{ProfileID: "p", ConnectorID: "c", Event: ev}, eventKey(ev, nil))
			if w.Code != tc.wantCode {
				t.Fatalf("answered %d, want %d: %s", w.Code, tc.wantCode, w.Body)
			}
			if len(tc.temporal.started) != 1 || tc.temporal.started[0].ID != "recovery-ingest:p:c:evt_1" {
				t.Errorf("starts %+v", tc.temporal.started)
			}
			if tc.wantCode == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if tc.wantOutcome == "" {
				return
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body["outcome"] != tc.wantOutcome || body["invoice_id"] != "inv_1" {
				t.Errorf("body %v", body)
			}
		})
	}
}

// An event's own id keys its ingest; one without a usable id is keyed by its body.
func TestEventKey(t *testing.T) {
	if k := eventKey(recovery.Event{EventID: "evt_1"}, []byte("x")); k != "evt_1" {
		t.Errorf("key %q", k)
	}
	a, b := eventKey(recovery.Event{}, []byte("body a")), eventKey(recovery.Event{}, []byte("body b"))
	if a == b || a != eventKey(recovery.Event{}, []byte("body a")) || len(a) > 64 {
		t.Errorf("body keys %q %q", a, b)
	}
}
