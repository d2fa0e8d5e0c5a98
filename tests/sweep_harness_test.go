//go:build integration

package tests

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"orderflow/config"
	sbcouriers "orderflow/dev/sandbox/couriers"
	"orderflow/starter"
	"orderflow/store"
	"orderflow/workflows"
)

// Distinctive courier secrets: no log line may ever contain them.
const (
	delhiveryToken     = "dlv-token-DISTINCT-5a7c91e2"
	b2bPassword        = "b2b-pass-DISTINCT-c3e8f061"
	shiprocketPassword = "sr-pass-DISTINCT-9b0d4f37"
)

// sweepStack is a stack with the courier sandbox and a worker serving the sweep.
type sweepStack struct {
	*stack
	couriers    *sbcouriers.Sandbox
	marketplace bson.ObjectID
}

// newSweepStack starts the courier sandbox (limits from o) and points the
// stack's courier config at it; tweak may change the config before the worker starts.
func newSweepStack(t *testing.T, o sbcouriers.Options, tweak func(*config.Config)) *sweepStack {
	t.Helper()
	s := &sweepStack{stack: newStack(t)}
	o.DelhiveryToken, o.B2BUsername, o.B2BPassword = delhiveryToken, "b2b-it", b2bPassword
	o.ShiprocketEmail, o.ShiprocketPassword = "it@orderflow.dev", shiprocketPassword
	s.couriers = sbcouriers.New(o)
	srv := httptest.NewServer(s.couriers.Handler())
	c := &s.cfg.Couriers
	c.Delhivery.BaseURL, c.Delhivery.Token = srv.URL, delhiveryToken
	c.DelhiveryB2B.BaseURL, c.DelhiveryB2B.Username, c.DelhiveryB2B.Password = srv.URL, "b2b-it", b2bPassword
	c.Shiprocket.BaseURL, c.Shiprocket.Username, c.Shiprocket.Password = srv.URL, "it@orderflow.dev", shiprocketPassword
	s.cfg.Sweep.ScheduleID = "tracking-sweep-" + s.cfg.Temporal.TaskQueue
	s.cfg.Sweep.Every = time.Hour // runs come from triggers, not the clock
	if tweak != nil {
		tweak(&s.cfg)
	}
	if err := s.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s.marketplace = bson.NewObjectID()
	if _, err := s.store.Database().Collection(store.MarketplacesCollection).InsertOne(context.Background(),
		bson.M{"_id": s.marketplace, "name": "Shopify"}); err != nil {
		t.Fatal(err)
	}
	s.startWorker()
	t.Cleanup(func() {
		// Runs before the stack's own clean-up: stop the worker so every log line is in.
		if s.stopWorker != nil {
			s.stopWorker()
			s.stopWorker = nil
		}
		srv.Close()
		secrets := append([]string{delhiveryToken, b2bPassword, shiprocketPassword}, s.couriers.IssuedTokens()...)
		for _, secret := range secrets {
			if strings.Contains(s.logs.String(), secret) {
				t.Errorf("a courier secret (%.6s…) appeared in the logs", secret)
			}
		}
	})
	return s
}

// order inserts a merchant order tracked by courierName under awb.
func (s *sweepStack) order(courierName, awb, status string) string {
	s.t.Helper()
	id := bson.NewObjectID()
	doc := bson.M{"_id": id, "marketplace": s.marketplace, "customer": bson.M{"name": "Ravi", "phone": "98765" + awb[len(awb)-5:]},
		"total_amt": 999.0, "awb": awb, "courier_name": courierName, "tracking_status": status}
	if _, err := s.store.Database().Collection(store.OrdersCollection).InsertOne(context.Background(), doc); err != nil {
		s.t.Fatal(err)
	}
	return id.Hex()
}

// orders inserts n orders in one write; awb(i) names each one's AWB.
func (s *sweepStack) orders(n int, courierName string, awb func(i int) string) []string {
	s.t.Helper()
	docs := make([]any, n)
	ids := make([]string, n)
	for i := range n {
		id := bson.NewObjectID()
		ids[i] = id.Hex()
		docs[i] = bson.M{"_id": id, "marketplace": s.marketplace, "customer": bson.M{"phone": fmt.Sprintf("9%09d", i)},
			"total_amt": 100.0, "awb": awb(i), "courier_name": courierName, "tracking_status": "in transit"}
	}
	if _, err := s.store.Database().Collection(store.OrdersCollection).InsertMany(context.Background(), docs); err != nil {
		s.t.Fatal(err)
	}
	return ids
}

func (s *sweepStack) orderDoc(id string) bson.M {
	s.t.Helper()
	oid, _ := bson.ObjectIDFromHex(id)
	var doc bson.M
	if err := s.store.Database().Collection(store.OrdersCollection).FindOne(context.Background(), bson.M{"_id": oid}).Decode(&doc); err != nil {
		s.t.Fatal(err)
	}
	return doc
}

// sweep runs one TrackingSweep directly (as the Schedule would) and returns its stats.
func (s *sweepStack) sweep(id string) workflows.SweepStats {
	s.t.Helper()
	stats, err := s.trySweep(id)
	if err != nil {
		s.t.Fatal(err)
	}
	return stats
}

// trySweep is sweep returning its error, for goroutines other than the test's.
func (s *sweepStack) trySweep(id string) (workflows.SweepStats, error) {
	var stats workflows.SweepStats
	run, err := s.temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: id, TaskQueue: s.cfg.Temporal.TaskQueue,
	}, workflows.TrackingSweep, starter.SweepInput(s.cfg))
	if err != nil {
		return stats, fmt.Errorf("start sweep %s: %w", id, err)
	}
	return stats, s.tryWaitWorkflow(run.GetID(), &stats)
}

// crmOrders counts the CRM's POSTs per order id.
func (s *sweepStack) crmOrders() map[string]int {
	out := map[string]int{}
	for _, r := range s.crm.Received() {
		id, _ := r.Body["order_id"].(string)
		out[id]++
	}
	return out
}

// waitRTOCancels waits until every first RTO the sweeps started has finished.
func (s *sweepStack) waitRTOCancels(ids []string) {
	s.t.Helper()
	for _, id := range ids {
		s.waitWorkflow(workflows.RTOCancelWorkflowID(id), nil)
	}
}

// historyCost lists every workflow run on the stack's task queue whose ID
// starts with prefix and counts their history events.
func (s *sweepStack) historyCost(prefix string, wantRuns int) (runs, events, maxEvents int) {
	s.t.Helper()
	ctx := context.Background()
	var execs []*workflowservice.ListWorkflowExecutionsResponse
	eventually(s.t, 30*time.Second, fmt.Sprintf("%d runs listed", wantRuns), func() bool {
		resp, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("TaskQueue = %q", s.cfg.Temporal.TaskQueue), PageSize: 1000})
		if err != nil {
			return false
		}
		n := 0
		for _, e := range resp.Executions {
			if strings.HasPrefix(e.Execution.WorkflowId, prefix) {
				n++
			}
		}
		execs = []*workflowservice.ListWorkflowExecutionsResponse{resp}
		return n == wantRuns
	})
	for _, e := range execs[0].Executions {
		if !strings.HasPrefix(e.Execution.WorkflowId, prefix) {
			continue
		}
		runs++
		n := 0
		it := s.temporal.GetWorkflowHistory(ctx, e.Execution.WorkflowId, e.Execution.RunId, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			if _, err := it.Next(); err != nil {
				s.t.Fatal(err)
			}
			n++
		}
		events += n
		maxEvents = max(maxEvents, n)
	}
	return runs, events, maxEvents
}
