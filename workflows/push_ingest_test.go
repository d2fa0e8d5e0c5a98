package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/store"
	"orderflow/tracking"
	"orderflow/tracking/push"
)

// pushStore fakes the store for PushIngest: one known order, the status path
// reporting every RTO-family observation as a first-RTO candidate.
type pushStore struct {
	memStore
	mu       sync.Mutex
	orderID  string // the order every ref finds; "" finds none
	observed []tracking.Observation
	recorded []store.PushEvent
	stock    []store.StockLevel
}

func (p *pushStore) ApplyObservations(_ context.Context, obs []tracking.Observation) (store.ApplyResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.observed = append(p.observed, obs...)
	var res store.ApplyResult
	for _, o := range obs {
		if tracking.IsRTO(o.Status) {
			res.RTOCandidates = append(res.RTOCandidates, store.RTOCandidate{OrderID: o.OrderID, Status: o.Status, Source: o.Source})
			break
		}
	}
	return res, nil
}

func (p *pushStore) FindOrder(context.Context, []store.OrderRef) (string, bool, error) {
	return p.orderID, p.orderID != "", nil
}

func (p *pushStore) RecordPushEvent(_ context.Context, ev store.PushEvent) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recorded = append(p.recorded, ev)
	return nil
}

func (p *pushStore) ReadOrder(_ context.Context, id string) (store.OrderSnapshot, bool, error) {
	return store.OrderSnapshot{OrderID: id}, id == p.orderID, nil
}

func (p *pushStore) ApplyStockLevel(_ context.Context, l store.StockLevel) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stock = append(p.stock, l)
	return true, nil
}

type pushFixture struct {
	env      *testsuite.TestWorkflowEnvironment
	store    *pushStore
	children []RTOCancelInput
	returns  []OrderReturnInput
}

func newPushFixture(orderID string) *pushFixture {
	f := &pushFixture{store: &pushStore{orderID: orderID}}
	var suite testsuite.WorkflowTestSuite
	f.env = suite.NewTestWorkflowEnvironment()
	f.env.RegisterWorkflow(PushIngest)
	f.env.RegisterWorkflow(RTOCancel)
	f.env.RegisterWorkflow(OrderReturn)
	f.env.OnWorkflow(OrderReturn, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in OrderReturnInput) (OrderReturnResult, error) {
		f.returns = append(f.returns, in)
		return OrderReturnResult{Found: true}, nil
	})
	f.env.RegisterActivity(&activities.Activities{Store: f.store, Push: f.store})
	f.env.OnWorkflow(RTOCancel, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in RTOCancelInput) (RTOCancelResult, error) {
		f.children = append(f.children, in)
		return RTOCancelResult{Claimed: true}, nil
	})
	return f
}

func (f *pushFixture) run(t *testing.T, in PushIngestInput) PushIngestResult {
	t.Helper()
	f.env.ExecuteWorkflow(PushIngest, in)
	if !f.env.IsWorkflowCompleted() || f.env.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed=%v err=%v", f.env.IsWorkflowCompleted(), f.env.GetWorkflowError())
	}
	var res PushIngestResult
	if err := f.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(f.store.recorded) != 1 || f.store.recorded[0].Outcome != res.Outcome || f.store.recorded[0].ID != in.EventID {
		t.Errorf("recorded %+v, want one record with outcome %q", f.store.recorded, res.Outcome)
	}
	return res
}

var pushAt = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func statusPush(scans ...PushScan) PushIngestInput {
	return PushIngestInput{EventID: "push:clickpost:acme:e1", Source: "clickpost", Account: "acme", Kind: PushKindStatus,
		Waybill: "W1", OrderRefs: []push.OrderRef{{Field: push.OrderByAWB, Value: "W1"}}, Scans: scans, EventTime: pushAt}
}

func TestPushIngestRTOGoesThroughTheStatusPathAndStartsRTOCancel(t *testing.T) {
	f := newPushFixture("o1")
	res := f.run(t, statusPush(PushScan{Status: tracking.InTransit, EventTime: pushAt}, PushScan{Status: tracking.RTOInTransit, EventTime: pushAt.Add(time.Hour)}))
	if res.Outcome != push.OutcomeApplied || res.OrderID != "o1" {
		t.Errorf("result %+v", res)
	}
	if len(f.store.observed) != 2 || f.store.observed[1].Source != "clickpost" || f.store.observed[1].OrderID != "o1" {
		t.Errorf("observations %+v", f.store.observed)
	}
	if len(res.RTOCancelsStarted) != 1 || res.RTOCancelsStarted[0] != RTOCancelWorkflowID("o1") || len(f.children) != 1 {
		t.Errorf("started %v, children %+v", res.RTOCancelsStarted, f.children)
	}
}

func TestPushIngestUnknownWaybillIsRecordedUnmatched(t *testing.T) {
	f := newPushFixture("")
	res := f.run(t, statusPush(PushScan{Status: tracking.RTO, EventTime: pushAt}))
	if res.Outcome != push.OutcomeUnmatched || len(f.store.observed) != 0 || len(f.children) != 0 {
		t.Errorf("result %+v, observed %d, children %d", res, len(f.store.observed), len(f.children))
	}
}

func TestPushIngestCustomerReturnAndTestChangeNoOrder(t *testing.T) {
	for kind, outcome := range map[string]string{
		PushKindCustomerReturn: push.OutcomeCustomerReturn,
		PushKindTest:           push.OutcomeTest,
		PushKindIgnored:        push.OutcomeIgnored,
	} {
		f := newPushFixture("o1")
		in := statusPush(PushScan{Status: tracking.RTO, EventTime: pushAt}) // a scan that must not be applied
		in.Kind = kind
		res := f.run(t, in)
		if res.Outcome != outcome || len(f.store.observed) != 0 || len(f.children) != 0 {
			t.Errorf("%s: result %+v, observed %d, children %d", kind, res, len(f.store.observed), len(f.children))
		}
	}
}

// A reverse pickup's return statuses go through the status path on its
// order, never as an RTO, and start the return shipment's OrderReturn with
// the newest status; RTO-family scans in a customer return are dropped.
func TestPushIngestCustomerReturnSetsReturnAndStartsOrderReturn(t *testing.T) {
	f := newPushFixture("o1")
	in := statusPush(PushScan{Status: tracking.Returned, EventTime: pushAt.Add(time.Hour)},
		PushScan{Status: tracking.Return, EventTime: pushAt}, PushScan{Status: tracking.RTO, EventTime: pushAt})
	in.Kind, in.Waybill = PushKindCustomerReturn, "RVP1"
	res := f.run(t, in)
	if res.Outcome != push.OutcomeCustomerReturn || res.OrderID != "o1" || len(res.RTOCancelsStarted) != 0 || len(f.children) != 0 {
		t.Errorf("result %+v, RTOCancels %+v", res, f.children)
	}
	if len(f.store.observed) != 2 || f.store.observed[0].Status != tracking.Returned || f.store.observed[1].Status != tracking.Return {
		t.Errorf("observations %+v, want returned and return only", f.store.observed)
	}
	want := OrderReturnInput{OrderID: "o1", ReturnAWB: "RVP1", Status: tracking.Returned, Source: "clickpost"}
	if len(f.returns) != 1 || f.returns[0] != want || res.OrderReturnStarted != OrderReturnWorkflowID("o1", "RVP1") {
		t.Errorf("order returns %+v (result %+v), want one %+v", f.returns, res, want)
	}
	if got := f.store.recorded[0].Statuses; len(got) != 3 {
		t.Errorf("recorded statuses %v, want all three scans", got)
	}
}

// A return with no AWB yet sets the order's status and tells no webhook: its
// shipment is told when a push carrying its AWB arrives.
func TestPushIngestCustomerReturnWithoutAWBStartsNoOrderReturn(t *testing.T) {
	f := newPushFixture("o1")
	in := statusPush(PushScan{Status: tracking.Return, EventTime: pushAt})
	in.Kind, in.Waybill = PushKindCustomerReturn, ""
	res := f.run(t, in)
	if len(f.store.observed) != 1 || len(f.returns) != 0 || res.OrderReturnStarted != "" {
		t.Errorf("observed %+v, order returns %+v", f.store.observed, f.returns)
	}
}

func TestOrderReturnRefusesAnRTOStatus(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(OrderReturn)
	env.ExecuteWorkflow(OrderReturn, OrderReturnInput{OrderID: "o1", ReturnAWB: "R1", Status: tracking.RTO, Source: "clickpost"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() == nil {
		t.Fatalf("completed=%v err=%v, want a refusal", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
}

func TestPushIngestStockKeepsLevels(t *testing.T) {
	f := newPushFixture("")
	res := f.run(t, PushIngestInput{EventID: "push:fulfilment:acme:7", Source: "fulfilment", Account: "acme", Kind: PushKindStock,
		Stock: []push.StockLevel{{ID: "a", Quantity: 1}, {ID: "b", Quantity: 0}}})
	if res.Outcome != push.OutcomeStock || len(f.store.stock) != 2 || len(f.store.observed) != 0 {
		t.Errorf("result %+v, stock %+v", res, f.store.stock)
	}
}
