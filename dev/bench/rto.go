package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.temporal.io/sdk/client"

	"orderflow/dev/sandbox/demo"
	"orderflow/store"
	"orderflow/tracking"
)

// rtoTargetP95 is the README's target for claim → CRM 2xx at 500 orders;
// rtoTargetCodecRatio the least share of the throughput the payload codec
// may keep (codec on ÷ off, same burst, same run).
const (
	rtoTargetP95        = 2 * time.Second
	rtoTargetOrders     = 500
	rtoTargetCodecRatio = 0.9
)

// rtoBurst is one measured burst of orders turning RTO at once.
type rtoBurst struct {
	Orders          int
	Codec           bool // the payload codec on in the ingress and the worker
	ReportsPerSec   float64
	ClaimToCRM      []time.Duration
	ReportToCRM     []time.Duration
	Cost            HistoryCost
	MongoCommands   int64
	CRMCalls        int64
	IngressCalls    int64
	DistinctKeys    int
	DrainedAfterSec float64
	CRMDoneAfterSec float64 // first report sent → the last order's first CRM 2xx
}

// throughput is the burst's orders per second from the first report to the last order's CRM 2xx.
func (b rtoBurst) throughput() float64 {
	if b.CRMDoneAfterSec <= 0 {
		return 0
	}
	return float64(b.Orders) / b.CRMDoneAfterSec
}

func (b rtoBurst) codecName() string {
	if b.Codec {
		return "codec on"
	}
	return "codec off"
}

// runFirstRTO reports bursts of orders as RTO through the status-update path
// (POST /v1/orders/{id}/tracking) and measures when each order's CRM call is
// answered 2xx, from the claim and from the report. The 500-order burst runs
// twice in a row, with the payload codec off and on (temporal.codec.enabled
// in the ingress and the worker), to measure what encryption costs.
func runFirstRTO(ctx context.Context, e *Env, o Options) (Row, error) {
	sizes := []int{100, rtoTargetOrders, 1000, 2000}
	if o.Short {
		sizes = []int{100, rtoTargetOrders}
	}
	var bursts []rtoBurst
	var withCodec rtoBurst
	for _, n := range sizes {
		codecs := []bool{false}
		if n == rtoTargetOrders {
			codecs = append(codecs, true)
		}
		for _, codec := range codecs {
			b, err := measureRTOBurst(ctx, e, o, n, codec)
			if err != nil {
				return Row{}, err
			}
			o.Logf("  %d orders, %s: claim→CRM p50 %v p95 %v; %.0f reports/s; %.1f orders/s to the CRM", n, b.codecName(),
				percentile(b.ClaimToCRM, 50), percentile(b.ClaimToCRM, 95), b.ReportsPerSec, b.throughput())
			if codec {
				withCodec = b
			} else {
				bursts = append(bursts, b)
			}
		}
	}
	return rtoRow(e, bursts, withCodec), nil
}

func measureRTOBurst(ctx context.Context, e *Env, o Options, n int, codec bool) (rtoBurst, error) {
	tc := e.Temporal
	if codec {
		var err error
		if tc, err = e.CodecClient(); err != nil {
			return rtoBurst{}, err
		}
	}
	b := rtoBurst{Orders: n, Codec: codec}
	o.Logf("  burst of %d orders, %s", n, b.codecName())
	s, orders, err := rtoStack(ctx, e, n, tc)
	if err != nil {
		return rtoBurst{}, err
	}
	defer s.Close()

	s.ResetCounters()
	reported := make([]time.Time, n)
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	t0 := time.Now()
	err = parallel(ctx, n, o.Concurrency, func(i int) error {
		code, err := s.report(orders[i], tracking.RTO, at)
		if err == nil && code != http.StatusAccepted {
			err = fmt.Errorf("report for %s answered %d", orders[i], code)
		}
		reported[i] = time.Now()
		return err
	})
	if err != nil {
		return rtoBurst{}, err
	}
	b.ReportsPerSec = float64(n) / time.Since(t0).Seconds()
	if err := waitDrained(ctx, e, s, n); err != nil {
		return b, err
	}
	b.DrainedAfterSec = time.Since(t0).Seconds()
	b.MongoCommands, b.CRMCalls, b.IngressCalls = s.Counters.MongoCommands.Load(), s.Counters.CRMCalls.Load(), s.Counters.IngressCalls.Load()
	if b.Cost, err = historyCost(ctx, e.Temporal, s.Cfg.Temporal.TaskQueue); err != nil {
		return b, err
	}
	return b, b.latencies(ctx, s, orders, t0, reported)
}

// rtoStack is a stack with a worker, the RTO webhook configuration and n
// orders in transit; its ingress and worker use tc.
func rtoStack(ctx context.Context, e *Env, n int, tc client.Client) (*Stack, []string, error) {
	s, err := e.NewStackWith(ctx, "rto", tc)
	if err != nil {
		return nil, nil, err
	}
	if err := s.StartWorker(tc); err == nil {
		_, err = demo.ConfigureRTOWebhook(s.post, demo.CRMCredentials{BaseURL: s.CRMURL, ClientID: crmClientID, ClientSecret: crmClientSecret})
	}
	var orders []string
	if err == nil {
		orders, err = seedOrders(ctx, s.Store, n)
	}
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, orders, nil
}

// waitDrained waits until every order has its 2xx and every workflow has
// closed (the delivery log is written after the 2xx, and it is part of the cost).
func waitDrained(ctx context.Context, e *Env, s *Stack, n int) error {
	if err := waitUntil(ctx, 10*time.Minute, "every order's CRM 2xx", func() (bool, error) {
		return len(s.CRM.Accepted()) >= n, nil
	}); err != nil {
		return err
	}
	return waitUntil(ctx, 5*time.Minute, "every workflow to close", func() (bool, error) {
		closed, err := countWorkflows(ctx, e.Temporal, s.Cfg.Temporal.TaskQueue, "ExecutionStatus = 'Completed'")
		return closed >= int64(2*n), err
	})
}

// latencies pairs each order's first CRM 2xx with its claim and its report,
// and notes when the last order got its first 2xx (after t0, the first report).
func (b *rtoBurst) latencies(ctx context.Context, s *Stack, orders []string, t0 time.Time, reported []time.Time) error {
	claims, err := claimTimes(ctx, s.Store)
	if err != nil {
		return err
	}
	first2xx := map[string]time.Time{}
	keys := map[string]bool{}
	for _, r := range s.CRM.Accepted() {
		id, _ := r.Body["order_id"].(string)
		if t, seen := first2xx[id]; !seen || r.At.Before(t) {
			first2xx[id] = r.At
		}
		keys[r.IdempotencyKey] = true
	}
	b.DistinctKeys = len(keys)
	for i, id := range orders {
		done, ok := first2xx[id]
		claimed, claimedOK := claims[id]
		if !ok || !claimedOK {
			return fmt.Errorf("order %s: CRM 2xx %v, claim %v", id, ok, claimedOK)
		}
		b.ClaimToCRM = append(b.ClaimToCRM, done.Sub(claimed))
		b.ReportToCRM = append(b.ReportToCRM, done.Sub(reported[i]))
		b.CRMDoneAfterSec = max(b.CRMDoneAfterSec, done.Sub(t0).Seconds())
	}
	return nil
}

// send makes one JSON request to the stack's API with one credential
// header, and returns the answer's code and body.
func (s *Stack) send(method, path string, body []byte, header, credential string) (int, []byte, error) {
	req, err := http.NewRequest(method, s.API.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set(header, credential)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// post creates a configuration resource through the stack's API.
func (s *Stack) post(path string, body any) (map[string]any, error) {
	raw, _ := json.Marshal(body)
	code, answer, err := s.send(http.MethodPost, path, raw, "X-API-Key", apiKey)
	var out map[string]any
	if err == nil {
		err = json.Unmarshal(answer, &out)
	}
	if err != nil || code != http.StatusCreated {
		return nil, fmt.Errorf("POST %s: %d %v", path, code, err)
	}
	return out, nil
}

// report posts one status observation and returns the answer's code.
func (s *Stack) report(orderID, status string, at time.Time) (int, error) {
	raw, _ := json.Marshal(map[string]any{"status": status, "source": "bench", "event_time": at})
	code, _, err := s.send(http.MethodPost, "/v1/orders/"+orderID+"/tracking", raw, "X-API-Key", apiKey)
	return code, err
}

// seedOrders inserts n merchant orders in transit, as the merchant's system would.
func seedOrders(ctx context.Context, st *store.Store, n int) ([]string, error) {
	db := st.Database()
	mp := bson.NewObjectID()
	if _, err := db.Collection(store.MarketplacesCollection).InsertOne(ctx, bson.M{"_id": mp, "name": "Shopify"}); err != nil {
		return nil, err
	}
	ids := make([]string, n)
	docs := make([]any, n)
	for i := range docs {
		id := bson.NewObjectID()
		ids[i] = id.Hex()
		docs[i] = bson.M{"_id": id, "marketplace": mp, "customer": bson.M{"name": "Bench", "phone": fmt.Sprintf("98%08d", i)},
			"total_amt": float64(100 + i), "awb": fmt.Sprintf("BENCH%08d", i), "courier_name": "delhivery", "tracking_status": tracking.InTransit}
	}
	if _, err := db.Collection(store.OrdersCollection).InsertMany(ctx, docs); err != nil {
		return nil, err
	}
	return ids, nil
}

// claimTimes reads when each order's first RTO was claimed (rto_claims.claimed_at).
func claimTimes(ctx context.Context, st *store.Store) (map[string]time.Time, error) {
	cur, err := st.Database().Collection(store.RTOClaimsCollection).Find(ctx, bson.D{})
	if err != nil {
		return nil, err
	}
	var docs []struct {
		ID        bson.ObjectID `bson:"_id"`
		ClaimedAt time.Time     `bson:"claimed_at"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(docs))
	for _, d := range docs {
		out[d.ID.Hex()] = d.ClaimedAt
	}
	return out, nil
}

// waitUntil polls cond every 200 ms until it holds or within passes.
func waitUntil(ctx context.Context, within time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(within)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", within, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// rtoRow turns the bursts into the row: the 500-order burst is judged against
// the target; every burst is plotted so the scaling shows.
func rtoRow(e *Env, bursts []rtoBurst, withCodec rtoBurst) Row {
	var at500 rtoBurst
	for _, b := range bursts {
		if b.Orders == rtoTargetOrders {
			at500 = b
		}
	}
	n := at500.Orders
	p95 := percentile(at500.ClaimToCRM, 95)
	figs := []Figure{
		target("CRM 2xx: distinct idempotency keys / orders", float64(at500.DistinctKeys)/float64(n), "", "1.00", at500.DistinctKeys == n),
		plain("Temporal history events per 1,000 orders", per1000(at500.Cost.Events, n), "events"),
		plain("Temporal actions per 1,000 orders", per1000(at500.Cost.Actions, n), "actions"),
		plain("Mongo round trips per 1,000 orders (worker)", per1000(at500.MongoCommands, n), "round trips"),
		plain("HTTP calls to the CRM per 1,000 orders (token + cancel)", per1000(at500.CRMCalls, n), "calls"),
		plain("HTTP calls to the ingress per 1,000 orders", per1000(at500.IngressCalls, n), "calls"),
		plain("claim → CRM 2xx p50", round(percentile(at500.ClaimToCRM, 50).Seconds(), 3), "s"),
		target("claim → CRM 2xx p95", round(p95.Seconds(), 3), "s", "≤ 2 s", p95 <= rtoTargetP95),
		plain("report accepted → CRM 2xx p95", round(percentile(at500.ReportToCRM, 95).Seconds(), 3), "s"),
		plain("reports accepted per second", round(at500.ReportsPerSec, 1), "reports/s"),
	}
	if e.BaselineStartsPerSec > 0 {
		figs = append(figs, plain("ingress report rate ÷ bare workflow-start rate", round(at500.ReportsPerSec/e.BaselineStartsPerSec, 2), "ratio"))
	}
	if runs := at500.Cost.ByType["RTOCancel"]; runs > 0 {
		mean := func(d time.Duration) float64 { return round(d.Seconds()/float64(runs), 3) }
		figs = append(figs,
			plain("RTOCancel mean run time (start → close)", mean(at500.Cost.RunTimeByType["RTOCancel"]), "s"),
			plain("of which its tasks waited in task queues", mean(at500.Cost.QueueWaitByType["RTOCancel"]), "s"))
	}
	figs = append(figs, plain("all workflows closed after", round(at500.DrainedAfterSec, 1), "s"))
	figs = append(figs, codecFigures(at500, withCodec)...)

	p50s, p95s, perK := Series{Name: "claim → CRM 2xx p50"}, Series{Name: "claim → CRM 2xx p95"}, Series{Name: "Mongo round trips per order"}
	evK := Series{Name: "history events per order"}
	for _, b := range bursts {
		x := float64(b.Orders)
		p50s.Points = append(p50s.Points, Point{x, percentile(b.ClaimToCRM, 50).Seconds()})
		p95s.Points = append(p95s.Points, Point{x, percentile(b.ClaimToCRM, 95).Seconds()})
		perK.Points = append(perK.Points, Point{x, float64(b.MongoCommands) / x})
		evK.Points = append(evK.Points, Point{x, float64(b.Cost.Events) / x})
	}
	cdf := Series{Name: fmt.Sprintf("claim → CRM 2xx, %d orders", n)}
	sorted := slices.Sorted(slices.Values(at500.ClaimToCRM))
	for i, d := range sorted {
		cdf.Points = append(cdf.Points, Point{d.Seconds(), float64(i+1) / float64(len(sorted))})
	}
	return Row{Figures: figs, Charts: []Chart{
		{Title: "First RTO → CRM: latency vs orders turning RTO at once", XLabel: "orders in the burst", YLabel: "seconds",
			Series: []Series{p50s, p95s}, HLines: []HLine{{Y: rtoTargetP95.Seconds(), Label: "target p95 ≤ 2 s"}}},
		{Title: "First RTO → CRM: cost per order vs burst size (flat = linear scaling)", XLabel: "orders in the burst", YLabel: "per order",
			Series: []Series{evK, perK}},
		{Title: fmt.Sprintf("First RTO → CRM: distribution of claim → 2xx at %d orders", n), XLabel: "seconds", YLabel: "share of orders",
			Series: []Series{cdf}, HLines: []HLine{{Y: 0.95, Label: "p95"}}, YMax: 1},
	}}
}

// codecFigures compare the same burst with the payload codec off and on:
// throughput (orders per second from the first report to the last CRM 2xx)
// as a ratio, and claim → CRM 2xx p95 for each.
func codecFigures(off, on rtoBurst) []Figure {
	ratio := 0.0
	if off.throughput() > 0 {
		ratio = on.throughput() / off.throughput()
	}
	p95 := percentile(on.ClaimToCRM, 95)
	return []Figure{
		plain("orders to the CRM per second (first report → last 2xx), codec off", round(off.throughput(), 1), "orders/s"),
		plain("orders to the CRM per second (first report → last 2xx), codec on", round(on.throughput(), 1), "orders/s"),
		target("throughput with the payload codec on ÷ off", round(ratio, 2), "ratio", "≥ 0.9", ratio >= rtoTargetCodecRatio),
		plain("reports accepted per second, codec on", round(on.ReportsPerSec, 1), "reports/s"),
		plain("claim → CRM 2xx p95, codec off", round(percentile(off.ClaimToCRM, 95).Seconds(), 3), "s"),
		target("claim → CRM 2xx p95, codec on", round(p95.Seconds(), 3), "s", "≤ 2 s", on.Orders > 0 && p95 <= rtoTargetP95),
		target("CRM 2xx with the codec on: distinct idempotency keys / orders", safeRatio(on.DistinctKeys, on.Orders), "", "1.00", on.Orders > 0 && on.DistinctKeys == on.Orders),
	}
}

func safeRatio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
