package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"orderflow/activities"
	"orderflow/config"
	"orderflow/dev/sandbox/crm"
	"orderflow/dev/sandbox/demo"
	"orderflow/store"
	"orderflow/tracking"
	"orderflow/workflows"
)

// drainRowName names the row; -only "drain" selects it.
const drainRowName = "drain after recovery: 10,000 deliveries parked behind an open CRM endpoint"

// The row's sizes and targets. The drain runs at the shipped default rate
// (delivery.breaker.drain_rate_per_second, 10/s): what a deployment drains
// at. The achieved rate is judged from both sides: at least 0.9 of the
// configured rate (the drain keeps up with its own pace), and never above it
// — 1 % is left for the first released delivery's own latency, which the
// spacing-based rate cannot separate from the pace.
const (
	drainOrders      = 10000
	drainOrdersShort = 1000
	drainRatioMin    = 0.9
	drainRatioMax    = 1.01
)

// drainRun is one measured drain: the CRM's accepted calls (the probe's 2xx
// first) and what the recovery cost.
type drainRun struct {
	Orders        int
	Rate          float64 // configured drain_rate_per_second
	HalfOpen      time.Duration
	ParkSeconds   float64 // first workflow start → every delivery parked
	RefusedPOSTs  int64   // POSTs the failing endpoint answered 503 while the orders parked
	Accepted      []crm.Received
	MongoCommands int64 // worker round trips, recovery → every workflow closed
	MongoFinds    int64
	CRMCalls      int64
	Released      int   // endpoint_ready signals the drain sent (its result)
	DrainRuns     int64 // EndpointDrain runs, continue-as-new included
}

// runDrain parks RTOCancel deliveries behind an open CRM endpoint, lets the
// CRM answer 2xx again and measures the drain: recovery (the probe's 2xx) →
// the last delivery's 2xx, and the drain rate against the configured one.
func runDrain(ctx context.Context, e *Env, o Options) (Row, error) {
	n := drainOrders
	if o.Short {
		n = drainOrdersShort
	}
	r, err := measureDrain(ctx, e, o, n)
	if err != nil {
		return Row{}, err
	}
	return drainRow(r), nil
}

// endpointSwitch stands in front of the sandbox CRM: while down, its
// cancel-order route answers 503 itself (the token route stays up, as when
// only the CRM's order service fails); up, everything passes.
type endpointSwitch struct {
	down    atomic.Bool
	refused atomic.Int64
}

func (sw *endpointSwitch) handler(crmURL string) (http.Handler, error) {
	target, err := url.Parse(crmURL)
	if err != nil {
		return nil, err
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sw.down.Load() && r.URL.Path == crm.CancelPath {
			sw.refused.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}), nil
}

// measureDrain runs the breaker with its shipped defaults. A shorter
// half-open interval would bring the probe sooner but wake every parked
// delivery that often: on 2 shared cores a 30 s interval held the drain to
// about 0.5 releases a second, its workflow tasks queued behind a thousand
// parked workflows re-parking every 30 s.
func measureDrain(ctx context.Context, e *Env, o Options, n int) (drainRun, error) {
	r := drainRun{Orders: n}
	s, err := e.NewStack(ctx, "drain")
	if err != nil {
		return r, err
	}
	defer s.Close()
	s.Cfg.Delivery.Breaker = config.DefaultBreaker()
	r.Rate, r.HalfOpen = s.Cfg.Delivery.Breaker.DrainRatePerSecond, s.Cfg.Delivery.Breaker.HalfOpenInterval
	halfOpen := r.HalfOpen
	sw := &endpointSwitch{}
	h, err := sw.handler(s.CRMURL)
	if err != nil {
		return r, err
	}
	front := httptest.NewServer(h)
	defer front.Close()
	if err := s.StartWorker(e.Temporal); err != nil {
		return r, err
	}
	hookID, err := demo.ConfigureRTOWebhook(s.post, demo.CRMCredentials{BaseURL: front.URL, ClientID: crmClientID, ClientSecret: crmClientSecret})
	if err != nil {
		return r, err
	}
	orders, err := seedOrders(ctx, s.Store, n)
	if err != nil {
		return r, err
	}

	sw.down.Store(true)
	o.Logf("  %d orders turning RTO behind a CRM answering 503 (half-open interval %v)", n, halfOpen)
	t0 := time.Now()
	if err := startRTOCancels(ctx, e.Temporal, s.Cfg.Temporal.TaskQueue, orders, o.Concurrency); err != nil {
		return r, err
	}
	// A probe's record is pending while its POST is out: n-1 parked is every
	// delivery parked but the one probing.
	if err := waitUntil(ctx, 45*time.Minute, fmt.Sprintf("%d deliveries parked", n), func() (bool, error) {
		parked, err := s.Store.Database().Collection(store.DeliveryRecordsCollection).CountDocuments(ctx, bson.D{{Key: "status", Value: store.RecordParked}})
		return parked >= int64(n-1), err
	}); err != nil {
		return r, err
	}
	r.ParkSeconds = time.Since(t0).Seconds()
	r.RefusedPOSTs = sw.refused.Load()
	o.Logf("  %d parked after %.1f s (%d POSTs refused); the CRM answers 2xx again", n, r.ParkSeconds, r.RefusedPOSTs)

	s.ResetCounters()
	sw.down.Store(false)
	if err := waitDrainedOnce(ctx, e, s, n); err != nil {
		return r, err
	}
	r.Accepted = s.CRM.Accepted()
	r.MongoCommands, r.CRMCalls = s.Counters.MongoCommands.Load(), s.Counters.CRMCalls.Load()
	if finds, ok := s.Counters.mongoByName.Load("find"); ok {
		r.MongoFinds = finds.(*atomic.Int64).Load()
	}
	o.Logf("  drained; worker Mongo: %s", s.Counters.MongoBreakdown())
	return r, r.drainCost(ctx, e, s.Cfg.Temporal.TaskQueue, hookID)
}

// startRTOCancels starts one RTOCancel per order as the status-update
// workflow does (same ID, reuse policy and search attributes), without the
// report and its status-update workflow: the row measures the drain, and
// this is the cheapest real way to get the deliveries parked.
func startRTOCancels(ctx context.Context, tc client.Client, queue string, orders []string, concurrency int) error {
	return parallel(ctx, len(orders), concurrency, func(i int) error {
		_, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: workflows.RTOCancelWorkflowID(orders[i]), TaskQueue: queue,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				workflows.OrderIDAttr.ValueSet(orders[i]), workflows.AWBAttr.ValueSet(fmt.Sprintf("BENCH%08d", i)),
				workflows.CourierAttr.ValueSet("delhivery"), workflows.TrackingStatusAttr.ValueSet(tracking.RTO)),
		}, workflows.RTOCancel, workflows.RTOCancelInput{OrderID: orders[i], Status: tracking.RTO, Source: "bench"})
		return err
	})
}

// waitDrainedOnce waits until every order's delivery has its 2xx and every
// RTOCancel has closed.
func waitDrainedOnce(ctx context.Context, e *Env, s *Stack, n int) error {
	if err := waitUntil(ctx, 60*time.Minute, "every parked delivery's CRM 2xx", func() (bool, error) {
		return len(s.CRM.Accepted()) >= n, nil
	}); err != nil {
		return err
	}
	return waitUntil(ctx, 10*time.Minute, "every RTOCancel to close", func() (bool, error) {
		closed, err := countWorkflows(ctx, e.Temporal, s.Cfg.Temporal.TaskQueue, "WorkflowType = 'RTOCancel' AND ExecutionStatus = 'Completed'")
		return closed >= int64(n), err
	})
}

// drainCost reads how many releases the endpoint's drain signalled (its
// result, across continue-as-new) and how many runs it took.
func (r *drainRun) drainCost(ctx context.Context, e *Env, queue, hookID string) error {
	id := activities.EndpointDrainWorkflowID("crm_webhook", hookID)
	if err := e.Temporal.GetWorkflow(ctx, id, "").Get(ctx, &r.Released); err != nil {
		return fmt.Errorf("the drain's result: %w", err)
	}
	var err error
	r.DrainRuns, err = countWorkflows(ctx, e.Temporal, queue, "WorkflowType = 'EndpointDrain'")
	return err
}

// drainTimes are the figures read from the accepted calls: the probe's 2xx
// (recovery), the last 2xx, and the drain's rate from the spacing of the
// released deliveries (every 2xx after the probe's).
type drainTimes struct {
	RecoveryToLast time.Duration
	Rate           float64
	DistinctKeys   int
	DistinctOrders int
}

func measureDrainTimes(accepted []crm.Received) drainTimes {
	var t drainTimes
	if len(accepted) == 0 {
		return t
	}
	byTime := slices.SortedFunc(slices.Values(accepted), func(a, b crm.Received) int { return a.At.Compare(b.At) })
	t.RecoveryToLast = byTime[len(byTime)-1].At.Sub(byTime[0].At)
	if drained := byTime[1:]; len(drained) >= 2 {
		if span := drained[len(drained)-1].At.Sub(drained[0].At); span > 0 {
			t.Rate = float64(len(drained)-1) / span.Seconds()
		}
	}
	keys, orders := map[string]bool{}, map[string]bool{}
	for _, a := range accepted {
		keys[a.IdempotencyKey] = true
		id, _ := a.Body["order_id"].(string)
		orders[id] = true
	}
	t.DistinctKeys, t.DistinctOrders = len(keys), len(orders)
	return t
}

// drainRow judges a drain: the rate against the configured one, exactly
// once per order, and the costs per 1,000 parked deliveries.
func drainRow(r drainRun) Row {
	t := measureDrainTimes(r.Accepted)
	ratio := 0.0
	if r.Rate > 0 {
		ratio = t.Rate / r.Rate
	}
	once := len(r.Accepted) == r.Orders && t.DistinctKeys == r.Orders && t.DistinctOrders == r.Orders
	ideal := float64(r.Orders-1) / max(r.Rate, 1e-9)
	figs := []Figure{
		plain("parked deliveries", float64(r.Orders), "deliveries"),
		target("CRM 2xx ÷ orders, each order one idempotency key", safeRatio(len(r.Accepted), r.Orders), "", "1.00, keys = orders", once),
		plain("configured drain_rate_per_second (the default)", r.Rate, "/s"),
		target("recovery (probe's 2xx) → last delivery's 2xx", round(t.RecoveryToLast.Seconds(), 1), "s",
			fmt.Sprintf("≤ %.0f s (orders ÷ 0.9 × rate)", ideal/drainRatioMin), t.RecoveryToLast.Seconds() <= ideal/drainRatioMin),
		plain("drain rate achieved (released 2xx spacing)", round(t.Rate, 2), "/s"),
		target("drain rate ÷ configured rate", round(ratio, 3), "ratio", fmt.Sprintf("%.1f – %.2f", drainRatioMin, drainRatioMax),
			ratio >= drainRatioMin && ratio <= drainRatioMax),
		plain("endpoint_ready signals sent per 1,000 parked", per1000(int64(r.Released), r.Orders), "signals"),
		plain("EndpointDrain runs (continue-as-new included)", float64(r.DrainRuns), "runs"),
		plain("worker Mongo round trips per 1,000 parked (recovery → all closed)", per1000(r.MongoCommands, r.Orders), "round trips"),
		plain("of which finds", per1000(r.MongoFinds, r.Orders), "finds"),
		plain("HTTP calls to the CRM per 1,000 parked (token + cancel)", per1000(r.CRMCalls, r.Orders), "calls"),
		plain("POSTs the failing endpoint answered 503 while the orders parked", float64(r.RefusedPOSTs), "POSTs"),
		plain("parking: first start → every delivery parked", round(r.ParkSeconds, 1), "s"),
		plain("half-open interval (probe period, the default)", r.HalfOpen.Seconds(), "s"),
	}
	return Row{Figures: figs, Charts: drainCharts(r)}
}

// drainCharts plots deliveries released over time against the configured pace.
func drainCharts(r drainRun) []Chart {
	if len(r.Accepted) < 2 {
		return nil
	}
	byTime := slices.SortedFunc(slices.Values(r.Accepted), func(a, b crm.Received) int { return a.At.Compare(b.At) })
	got := Series{Name: "deliveries with their 2xx"}
	pace := Series{Name: fmt.Sprintf("configured rate, %.0f/s", r.Rate)}
	step := max(len(byTime)/200, 1)
	for i := 0; i < len(byTime); i += step {
		got.Points = append(got.Points, Point{byTime[i].At.Sub(byTime[0].At).Seconds(), float64(i + 1)})
	}
	last := byTime[len(byTime)-1].At.Sub(byTime[0].At).Seconds()
	got.Points = append(got.Points, Point{last, float64(len(byTime))})
	pace.Points = []Point{{0, 1}, {float64(len(byTime)-1) / r.Rate, float64(len(byTime))}}
	return []Chart{{Title: fmt.Sprintf("Drain after recovery: %d parked deliveries released", r.Orders),
		XLabel: "seconds after the probe's 2xx", YLabel: "deliveries", Series: []Series{got, pace}}}
}
