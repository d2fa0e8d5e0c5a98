package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"orderflow/activities"
	"orderflow/recovery"
	"orderflow/recovery/connector"
	"orderflow/store"
)

// ingestFixture runs RecoveryIngest with the real activities on an in-memory
// store; the hand-off to RevenueRecovery is replaced by a recording stub.
type ingestFixture struct {
	t        *testing.T
	env      *testsuite.TestWorkflowEnvironment
	store    *memRecoveryStore
	handOffs []activities.RecoveryHandOffInput
	// delivered is the stub hand-off's answer: does a recovery take the event?
	delivered bool
}

func newIngestFixture(t *testing.T, billingURL string) *ingestFixture {
	pid, _ := bson.ObjectIDFromHex(testProfileID)
	f := &ingestFixture{t: t, delivered: true, store: &memRecoveryStore{
		profile: store.BusinessProfile{ID: pid, MerchantID: "merchant_1", RetryAlgorithm: recovery.Cascading},
		accounts: map[string]store.ConnectorAccount{
			testBillingID: {ProfileID: testProfileID, ConnectorType: store.BillingProcessor, ConnectorName: recovery.StripeBilling,
				BaseURL: billingURL, AccountDetails: store.ConnectorAuth{APIKey: "sk_billing"},
				FeatureMetadata: &store.FeatureMetadata{RevenueRecovery: &store.RecoveryMetadata{MaxRetryCount: 5,
					BillingConnectorRetryThreshold: 1, BillingAccountReference: map[string]string{testPaymentID: "gw_1"}}}},
		},
		attempts: map[string]store.RecoveryAttempt{},
	}}
	var suite testsuite.WorkflowTestSuite
	f.env = suite.NewTestWorkflowEnvironment()
	f.env.RegisterWorkflow(RecoveryIngest)
	f.env.RegisterActivity(&activities.Recovery{Store: f.store, Connectors: connector.New(5 * time.Second)})
	f.env.OnActivity(ra.HandOffRecoveryEvent, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RecoveryHandOffInput) (activities.RecoveryHandOffResult, error) {
			f.handOffs = append(f.handOffs, in)
			return activities.RecoveryHandOffResult{Delivered: f.delivered}, nil
		})
	return f
}

func (f *ingestFixture) run(in RecoveryIngestInput) (RecoveryIngestResult, error) {
	f.t.Helper()
	if in.ProfileID == "" {
		in.ProfileID, in.ConnectorID = testProfileID, testBillingID
	}
	f.env.ExecuteWorkflow(RecoveryIngest, in)
	if !f.env.IsWorkflowCompleted() {
		f.t.Fatal("RecoveryIngest did not complete")
	}
	var res RecoveryIngestResult
	if err := f.env.GetWorkflowError(); err != nil {
		return res, err
	}
	if err := f.env.GetWorkflowResult(&res); err != nil {
		f.t.Fatal(err)
	}
	return res, nil
}

func ingestFailure() recovery.Event {
	ev := failure("ev_in_1").Event
	ev.Platform, ev.GatewayAccountID = recovery.StripeBilling, "gw_1"
	return ev
}

// A failed payment of the platform's starts the invoice's RevenueRecovery with
// the profile's policy and the mapped payment connector, and is recorded once.
func TestRecoveryIngestStartsTheInvoicesRecovery(t *testing.T) {
	f := newIngestFixture(t, "")
	res, err := f.run(RecoveryIngestInput{Event: ingestFailure(), ReceivedAt: time.Unix(1763990000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	wfID := RevenueRecoveryWorkflowID(testProfileID, testInvoice)
	want := RecoveryIngestResult{Action: recovery.ScheduleFailedPayment, Outcome: OutcomeSignalled, WorkflowID: wfID, InvoiceID: testInvoice}
	if res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}
	if len(f.handOffs) != 1 {
		t.Fatalf("%d hand-offs, want 1", len(f.handOffs))
	}
	h := f.handOffs[0]
	if h.WorkflowID != wfID || h.Action != recovery.ScheduleFailedPayment || h.Event.EventID != "ev_in_1" || h.Start == nil ||
		h.Start.PaymentConnectorID != testPaymentID || h.Start.MerchantID != "merchant_1" || h.Start.Policy.MaxRetryCount != 5 ||
		h.Start.BillingConnectorID != testBillingID || h.TaskQueue == "" {
		t.Errorf("hand-off %+v (start %+v)", h, h.Start)
	}
	if ev := f.store.events; len(ev) != 1 || ev[0].Outcome != OutcomeSignalled || ev[0].WorkflowID != wfID || ev[0].EventID != "ev_in_1" ||
		ev[0].Action != string(recovery.ScheduleFailedPayment) || !ev[0].ReceivedAt.Equal(time.Unix(1763990000, 0)) {
		t.Errorf("recorded %+v", ev)
	}
}

// Each rule of the dispatch: who made the attempt, the profile's and the
// connector's settings and the invoice's history decide how far an event goes.
func TestRecoveryIngestOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		setup      func(f *ingestFixture, in *RecoveryIngestInput)
		wantAction recovery.Action
		want       string
		handOff    bool
	}{
		{"monitoring profile", func(f *ingestFixture, _ *RecoveryIngestInput) { f.store.profile.RetryAlgorithm = recovery.Monitoring },
			recovery.ScheduleFailedPayment, OutcomeMonitoring, false},
		{"platform still dunning", func(_ *ingestFixture, in *RecoveryIngestInput) { in.Event.PlatformAttemptCount = 1 },
			recovery.ScheduleFailedPayment, OutcomeBelowThreshold, false},
		{"the recovery API is not held back by the threshold", func(_ *ingestFixture, in *RecoveryIngestInput) {
			in.Event.PlatformAttemptCount, in.FromAPI, in.Action, in.PaymentConnectorID = 0, true, recovery.ScheduleFailedPayment, "pay_api"
		}, recovery.ScheduleFailedPayment, OutcomeSignalled, true},
		{"no payment method", func(_ *ingestFixture, in *RecoveryIngestInput) { in.Event.PaymentMethodToken = "" },
			recovery.ScheduleFailedPayment, OutcomeNoPaymentMethod, false},
		{"gateway mapped to no payment connector", func(f *ingestFixture, in *RecoveryIngestInput) {
			acct := f.store.accounts[testBillingID]
			acct.FeatureMetadata.RevenueRecovery.BillingAccountReference = map[string]string{"a": "gw_a", "b": "gw_b"}
			in.Event.GatewayAccountID = "gw_other"
		}, recovery.ScheduleFailedPayment, OutcomeNoPaymentAccount, false},
		{"invoice already paid by our retry", func(f *ingestFixture, _ *RecoveryIngestInput) {
			f.store.attempts["rr_1"] = store.RecoveryAttempt{ProfileID: testProfileID, InvoiceID: testInvoice, TriggeredBy: "internal",
				Status: "succeeded", PaymentIntentID: "pi_ours"}
		}, recovery.ScheduleFailedPayment, OutcomeAlreadyFinished, false},
		{"our own attempt reported back", func(f *ingestFixture, in *RecoveryIngestInput) {
			f.store.attempts["rr_1"] = store.RecoveryAttempt{ProfileID: testProfileID, InvoiceID: testInvoice, TriggeredBy: "internal",
				Status: "failed", PaymentIntentID: in.Event.TransactionID}
		}, recovery.NoAction, OutcomeRecorded, false},
		{"recovery closed before", func(f *ingestFixture, _ *RecoveryIngestInput) { f.delivered = false },
			recovery.ScheduleFailedPayment, OutcomeAlreadyFinished, true},
		{"external success reaches a running recovery", func(_ *ingestFixture, in *RecoveryIngestInput) { in.Event.Kind = recovery.PaymentSuccess },
			recovery.SuccessPaymentExternal, OutcomeSignalled, true},
		{"cancel with no recovery running", func(f *ingestFixture, in *RecoveryIngestInput) {
			in.Event.Kind, f.delivered = recovery.InvoiceCancel, false
		}, recovery.CancelInvoice, OutcomeNotRunning, true},
		{"an event recovery does not use", func(_ *ingestFixture, in *RecoveryIngestInput) { in.Event.Kind = recovery.OtherEvent },
			recovery.InvalidAction, OutcomeRecorded, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newIngestFixture(t, "")
			in := RecoveryIngestInput{Event: ingestFailure()}
			tc.setup(f, &in)
			res, err := f.run(in)
			if err != nil {
				t.Fatal(err)
			}
			if res.Action != tc.wantAction || res.Outcome != tc.want || (len(f.handOffs) == 1) != tc.handOff {
				t.Errorf("action %s outcome %s, %d hand-offs; want %s %s, hand-off %v", res.Action, res.Outcome, len(f.handOffs),
					tc.wantAction, tc.want, tc.handOff)
			}
			if start := tc.handOff && len(f.handOffs) == 1 && f.handOffs[0].Start != nil; start != (tc.wantAction == recovery.ScheduleFailedPayment) && tc.handOff {
				t.Errorf("hand-off starts a recovery: %v", start)
			}
			if in.PaymentConnectorID != "" && (len(f.handOffs) != 1 || f.handOffs[0].Start.PaymentConnectorID != in.PaymentConnectorID) {
				t.Errorf("the API's payment connector was not used: %+v", f.handOffs)
			}
			if len(f.store.events) != 1 || f.store.events[0].Outcome != tc.want {
				t.Errorf("recorded %+v", f.store.events)
			}
		})
	}
}

// A thin Stripe failure is completed from the platform's API before the
// decision; a platform refusing the look-up fails the ingest (the webhook's
// 400) with nothing recorded or started.
func TestRecoveryIngestCompletesThinEvents(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/charges/ch_thin" || r.Header.Get("Authorization") != "Bearer sk_billing" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"id":"ch_thin","status":"failed","amount":2250,"currency":"usd","customer":"cus_42",
			"payment_method":"pm_thin","failure_code":"card_declined","outcome":{"reason":"insufficient_funds"}}`))
	}))
	defer srv.Close()
	thin := ingestFailure()
	thin.PaymentMethodToken, thin.DeclineCode, thin.TransactionID = "", "", ""
	thin.Lookup = &recovery.Lookup{Object: "charge", ID: "ch_thin"}

	f := newIngestFixture(t, srv.URL)
	res, err := f.run(RecoveryIngestInput{Event: thin})
	if err != nil || res.Outcome != OutcomeSignalled || len(f.handOffs) != 1 {
		t.Fatalf("result %+v, %v; %d hand-offs", res, err, len(f.handOffs))
	}
	if ev := f.handOffs[0].Event; ev.Lookup != nil || ev.TransactionID != "ch_thin" || ev.PaymentMethodToken != "pm_thin" || ev.DeclineCode != "insufficient_funds" {
		t.Errorf("completed event %+v", ev)
	}

	status = http.StatusNotFound
	f = newIngestFixture(t, srv.URL)
	_, err = f.run(RecoveryIngestInput{Event: thin})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeBillingEventUnusable {
		t.Fatalf("refused look-up: %v, want %s", err, activities.ErrTypeBillingEventUnusable)
	}
	if len(f.handOffs) != 0 || len(f.store.events) != 0 {
		t.Errorf("refused look-up handed off %d, recorded %d", len(f.handOffs), len(f.store.events))
	}
}

// handOffClient records what HandOffRecoveryEvent asks of Temporal.
type handOffClient struct {
	client.Client
	workflowID, signal string
	signalArg, input   any
	opts               client.StartWorkflowOptions
	workflow           any
}

func (c *handOffClient) SignalWithStartWorkflow(_ context.Context, workflowID, signalName string, signalArg any,
	opts client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error) {
	c.workflowID, c.signal, c.signalArg, c.opts, c.workflow, c.input = workflowID, signalName, signalArg, opts, workflow, args[0]
	return nil, nil
}

// The hand-off activity starts RevenueRecovery by its type name and sends the
// contract's input and signal: the workflow must be registered under that
// name and read them back whole.
func TestRecoveryHandOffStartsRevenueRecovery(t *testing.T) {
	// A workflow registered without a name is registered under its function's.
	if fn := runtime.FuncForPC(reflect.ValueOf(RevenueRecovery).Pointer()).Name(); !strings.HasSuffix(fn, "."+activities.RevenueRecoveryWorkflowType) {
		t.Fatalf("RevenueRecovery (%s) is not registered as %q", fn, activities.RevenueRecoveryWorkflowType)
	}
	var env testsuite.WorkflowTestSuite
	c := &handOffClient{}
	aenv := env.NewTestActivityEnvironment()
	aenv.RegisterActivity(&activities.Recovery{Temporal: c})
	ev := ingestFailure()
	start := activities.RevenueRecoveryStart{ProfileID: testProfileID, MerchantID: "m", InvoiceID: testInvoice, BillingConnectorID: testBillingID,
		PaymentConnectorID: testPaymentID, Policy: recovery.Policy{Algorithm: recovery.Smart, MaxRetryCount: 3}, PSyncDelays: []time.Duration{time.Minute}}
	val, err := aenv.ExecuteActivity(ra.HandOffRecoveryEvent, activities.RecoveryHandOffInput{WorkflowID: "wf", TaskQueue: "q",
		Action: recovery.ScheduleFailedPayment, Event: ev, Start: &start})
	var res activities.RecoveryHandOffResult
	if err != nil || val.Get(&res) != nil || !res.Delivered {
		t.Fatalf("hand-off: %+v, %v", res, err)
	}
	if c.workflow != "RevenueRecovery" || c.signal != RecoveryEventSignal || c.workflowID != "wf" || c.opts.ID != "wf" || c.opts.TaskQueue != "q" {
		t.Errorf("signal-with-start %v %s %s %+v", c.workflow, c.signal, c.workflowID, c.opts)
	}
	var in RevenueRecoveryInput
	var sig RecoverySignal
	roundTrip(t, c.input, &in)
	roundTrip(t, c.signalArg, &sig)
	wantIn := RevenueRecoveryInput{RevenueRecoveryStart: start}
	if !reflect.DeepEqual(in, wantIn) || !reflect.DeepEqual(sig, RecoverySignal{Action: recovery.ScheduleFailedPayment, Event: ev}) {
		t.Errorf("input %+v, signal %+v", in, sig)
	}
	if n := c.opts.TypedSearchAttributes.Size(); n != 3 {
		t.Errorf("%d search attributes, want 3", n)
	}
	if v, ok := c.opts.TypedSearchAttributes.GetKeyword(InvoiceIDAttr); !ok || v != testInvoice {
		t.Errorf("InvoiceID %q", v)
	}
	if v, ok := c.opts.TypedSearchAttributes.GetKeyword(RecoveryStatusAttr); !ok || v != RecoveryAwaitingEvent {
		t.Errorf("RecoveryStatus %q", v)
	}
}

func roundTrip(t *testing.T, from, to any) {
	t.Helper()
	b, err := json.Marshal(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, to); err != nil {
		t.Fatal(err)
	}
}
