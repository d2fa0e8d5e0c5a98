package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/zap"

	"orderflow/ingress"
	"orderflow/observability"
	"orderflow/store"
	"orderflow/tracking/push/fulfilment"
)

// The push-ingress row's targets (README's table).
const (
	pushTargetRatio = 0.8
	pushTargetP99   = 250 * time.Millisecond
)

// Credentials of the benchmark's push senders, set through the configuration
// API (push_credentials), the path that reads Mongo, not the config file.
const (
	pushAccount          = "bench"
	pushClickpostKey     = "bench-clickpost-webhook-key-0123"
	pushFulfilmentSecret = "bench-fulfilment-signing-secret-0123"
)

// pushStack is a stack whose ingress has its own monitored Mongo client, so
// the round trips the webhook path makes (credential look-ups) are counted.
type pushStack struct {
	*Stack
	api           *httptest.Server
	ingressStore  *store.Store
	ingressMongo  atomic.Int64
	client        *http.Client
	orders        []string
	awbs          []string
	firstDelivery int
}

// pushLoad is what the timed phase measured.
type pushLoad struct {
	Clients    int
	Duration   time.Duration
	Accepted   int64 // 200, not a duplicate
	Duplicates int64
	Refused    map[int]int64 // any other answer, by code
	Latencies  []time.Duration
	PerSecond  []int64 // accepted, by second of the load
	Completed  int64   // PushIngest runs the worker finished during the load
	IngressDB  int64   // the ingress's Mongo round trips during the load
}

// runPushIngress drives signed Clickpost and fulfilment pushes (alternately)
// from concurrent clients against the real ingress handler on loopback, with
// orderflow's worker running in this process. First a fixed sample is sent and
// drained for the machine-independent costs; then the timed load.
func runPushIngress(ctx context.Context, e *Env, o Options) (Row, error) {
	duration, sample, orders := 60*time.Second, 500, 2000
	if o.Short {
		duration, sample, orders = 18*time.Second, 200, 1000
	}
	ps, err := newPushStack(ctx, e, orders)
	if err != nil {
		return Row{}, err
	}
	defer ps.close()

	o.Logf("  cost sample: %d pushes, drained", sample)
	ps.ResetCounters()
	ps.ingressMongo.Store(0)
	if err := parallel(ctx, sample, o.Concurrency, func(i int) error {
		code, _, err := ps.push(i)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("push %d answered %d", i, code)
		}
		return err
	}); err != nil {
		return Row{}, err
	}
	if err := waitUntil(ctx, 10*time.Minute, "the sample's PushIngest runs to close", func() (bool, error) {
		n, err := countWorkflows(ctx, e.Temporal, ps.Cfg.Temporal.TaskQueue, "ExecutionStatus = 'Completed'")
		return n >= int64(sample), err
	}); err != nil {
		return Row{}, err
	}
	cost, err := historyCost(ctx, e.Temporal, ps.Cfg.Temporal.TaskQueue)
	if err != nil {
		return Row{}, err
	}
	workerDB, ingressDB := ps.Counters.MongoCommands.Load(), ps.ingressMongo.Load()

	// Measured right before the load, so both rates see the same machine.
	adjacent, err := bareStartRate(ctx, e, 500, o.Concurrency)
	if err != nil {
		return Row{}, err
	}
	o.Logf("  load: %d clients for %v (bare start rate just before: %.0f/s)", o.Concurrency, duration, adjacent)
	load, err := ps.load(ctx, e, sample, o.Concurrency, duration)
	if err != nil {
		return Row{}, err
	}
	o.Logf("  %.0f accepted/s, p99 %v, refused %v", load.rate(), percentile(load.Latencies, 99), load.Refused)
	return pushRow(e, sample, cost, workerDB, ingressDB, adjacent, load), nil
}

func newPushStack(ctx context.Context, e *Env, orders int) (*pushStack, error) {
	s, err := e.NewStack(ctx, "push")
	if err != nil {
		return nil, err
	}
	ps := &pushStack{Stack: s, firstDelivery: 1_000_000,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}}
	monitor := &event.CommandMonitor{Started: func(context.Context, *event.CommandStartedEvent) { ps.ingressMongo.Add(1) }}
	if ps.ingressStore, err = store.Connect(ctx, s.Cfg.Mongo.URI, s.Cfg.Mongo.Database, 30*time.Second,
		func(o *options.ClientOptions) { o.SetMonitor(monitor) }); err != nil {
		s.Close()
		return nil, err
	}
	ps.api = httptest.NewServer(ingress.Router(ingress.Deps{
		Store: ps.ingressStore, Temporal: e.Temporal, TaskQueue: s.Cfg.Temporal.TaskQueue, APIKey: apiKey,
		MaxBodyBytes: s.Cfg.HTTP.MaxBodyBytes, Logger: zap.NewNop(), Metrics: observability.NewMetrics(),
	}))
	err = s.StartWorker(e.Temporal)
	if err == nil {
		err = ps.setCredentials()
	}
	if err == nil {
		ps.orders, err = seedOrders(ctx, s.Store, orders)
	}
	if err != nil {
		ps.close()
		return nil, err
	}
	for i := range ps.orders {
		ps.awbs = append(ps.awbs, fmt.Sprintf("BENCH%08d", i)) // seedOrders' waybills
	}
	return ps, nil
}

func (ps *pushStack) close() {
	ps.api.Close()
	_ = ps.ingressStore.Close(context.Background())
	ps.Close()
}

// setCredentials sets both senders' secrets through the configuration API.
func (ps *pushStack) setCredentials() error {
	for path, secret := range map[string]string{"clickpost": pushClickpostKey, "fulfilment": pushFulfilmentSecret} {
		raw, _ := json.Marshal(map[string]any{"secrets": []string{secret}})
		req, _ := http.NewRequest(http.MethodPut, ps.api.URL+"/v1/push-credentials/"+path+"/"+pushAccount, bytes.NewReader(raw))
		req.Header.Set("X-API-Key", apiKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := ps.client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("PUT push credentials for %s: %d", path, resp.StatusCode)
		}
	}
	return nil
}

// pushBase is the scan time of event 0; event k is k seconds later, so every
// event is new (its own de-duplication key) and newer than the one before.
var pushBase = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// push sends event k: even k a Clickpost scan (webhook_key), odd k a fulfilment
// ORDER.CHANGE_STATUS (X-Event-Signature), each for an order of the pool, on
// the plain routes where the key or signature identifies the account.
func (ps *pushStack) push(k int) (code int, duplicate bool, err error) {
	i := k % len(ps.orders)
	at := pushBase.Add(time.Duration(k) * time.Second)
	var req *http.Request
	if k%2 == 0 {
		body := clickpostScan(ps.awbs[i], []int{5, 6, 9}[k/2%3], at)
		req, _ = http.NewRequest(http.MethodPost, ps.api.URL+"/webhooks/clickpost", bytes.NewReader(body))
		req.Header.Set("webhook_key", pushClickpostKey)
	} else {
		body := fulfilmentChange(ps.orders[i], []string{"DELIVERING", "FAILED_DELIVERY"}[k/2%2], at)
		req, _ = http.NewRequest(http.MethodPost, ps.api.URL+"/webhooks/fulfilment", bytes.NewReader(body))
		req.Header.Set("X-Event-Delivery", fmt.Sprint(ps.firstDelivery+k))
		req.Header.Set("X-Event-Signature", fulfilment.Sign(body, pushFulfilmentSecret))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := ps.client.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	var out struct {
		Duplicate bool `json:"duplicate"`
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out.Duplicate, nil
}

// load sends new events from clients goroutines for d, continuing the event
// numbers after the sample, and records every answer's latency.
func (ps *pushStack) load(ctx context.Context, e *Env, sample, clients int, d time.Duration) (pushLoad, error) {
	ps.ResetCounters()
	ps.ingressMongo.Store(0)
	l := pushLoad{Clients: clients, Refused: map[int]int64{}, PerSecond: make([]int64, int(d/time.Second)+1)}
	var next atomic.Int64
	next.Store(int64(sample))
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	t0 := time.Now()
	deadline := t0.Add(d)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			refused := map[int]int64{}
			var accepted, dups int64
			for time.Now().Before(deadline) && ctx.Err() == nil {
				k := int(next.Add(1)) - 1
				sent := time.Now()
				code, dup, err := ps.push(k)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				lat = append(lat, time.Since(sent))
				switch {
				case code == http.StatusOK && !dup:
					accepted++
					atomic.AddInt64(&l.PerSecond[min(int(time.Since(t0)/time.Second), len(l.PerSecond)-1)], 1)
				case code == http.StatusOK:
					dups++
				default:
					refused[code]++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			l.Latencies = append(l.Latencies, lat...)
			l.Accepted += accepted
			l.Duplicates += dups
			for c, n := range refused {
				l.Refused[c] += n
			}
		}()
	}
	wg.Wait()
	l.Duration = time.Since(t0)
	l.IngressDB = ps.ingressMongo.Load()
	if firstErr != nil {
		return l, firstErr
	}
	done, err := countWorkflows(ctx, e.Temporal, ps.Cfg.Temporal.TaskQueue, "ExecutionStatus = 'Completed'")
	l.Completed = done - int64(sample)
	return l, err
}

func (l pushLoad) rate() float64 { return float64(l.Accepted) / l.Duration.Seconds() }

func (l pushLoad) refusedTotal() int64 {
	var n int64
	for _, c := range l.Refused {
		n += c
	}
	return n
}

// clickpostScan is a Clickpost status push as Clickpost's webhook docs show it.
func clickpostScan(awb string, code int, at time.Time) []byte {
	raw, _ := json.Marshal(map[string]any{
		"waybill": awb, "clickpost_status_code": code, "cp_id": 4, "status": "", "location": "VASAI, MUMBAI",
		"clickpost_status_description": fmt.Sprintf("code %d", code), "timestamp": at.Format(time.RFC3339), "remark": "",
		"additional": map[string]any{"notification_event_id": 3},
	})
	return raw
}

// fulfilmentChange is the fulfilment platform's ORDER.CHANGE_STATUS (its webhook docs); the order code is the order _id.
func fulfilmentChange(orderID, to string, at time.Time) []byte {
	raw, _ := json.Marshal(map[string]any{"event": fulfilment.EventOrderChangeStatus, "payload": map[string]any{
		"order":         map[string]any{"id": 5342, "code": orderID, "status": to, "updated_at": at.Format("2006-01-02T15:04:05.000000Z")},
		"merchant_code": "BENCH", "from_status": "WAITING_DELIVERY", "to_status": to,
	}})
	return raw
}

// pushRow: the sample's counts first, then the load's rates and latencies.
func pushRow(e *Env, sample int, cost HistoryCost, workerDB, ingressDB int64, adjacent float64, l pushLoad) Row {
	p99 := percentile(l.Latencies, 99)
	figs := []Figure{
		plain("push events in the cost sample (half Clickpost, half fulfilment)", float64(sample), "events"),
		plain("Temporal history events per 1,000 push events", per1000(cost.Events, sample), "events"),
		plain("Temporal actions per 1,000 push events", per1000(cost.Actions, sample), "actions"),
		plain("Mongo round trips per 1,000 push events (worker)", per1000(workerDB, sample), "round trips"),
		plain("Mongo round trips per 1,000 push events (ingress: credential look-ups)", per1000(ingressDB, sample), "round trips"),
		plain("load: concurrent clients", float64(l.Clients), "clients"),
		plain("load: duration", round(l.Duration.Seconds(), 1), "s"),
		plain("pushes accepted (200, new)", float64(l.Accepted), "events"),
		target("pushes answered other than 200", float64(l.refusedTotal()), "answers", "0", l.refusedTotal() == 0),
		plain("Mongo round trips per 1,000 accepted pushes during the load (ingress)", per1000(l.IngressDB, int(max(l.Accepted, 1))), "round trips"),
		plain("accepted pushes per second", round(l.rate(), 1), "events/s"),
		plain("push latency p50", round(percentile(l.Latencies, 50).Seconds()*1000, 1), "ms"),
		target("push latency p99", round(p99.Seconds()*1000, 1), "ms", "≤ 250 ms", p99 <= pushTargetP99),
		plain("bare workflow-start rate right before the load", round(adjacent, 1), "starts/s"),
	}
	if e.BaselineStartsPerSec > 0 {
		ratio := l.rate() / e.BaselineStartsPerSec
		figs = append(figs, target("accepted pushes/s ÷ bare workflow-start rate (the baseline row)", round(ratio, 2), "ratio", "≥ 0.8", ratio >= pushTargetRatio))
	}
	figs = append(figs,
		plain("accepted pushes/s ÷ the bare rate right before the load", round(l.rate()/adjacent, 2), "ratio"),
		plain("PushIngest runs the worker completed during the load", float64(l.Completed), "runs"))

	perSec := Series{Name: "accepted pushes per second"}
	for i, n := range l.PerSecond[:max(len(l.PerSecond)-1, 1)] {
		perSec.Points = append(perSec.Points, Point{float64(i + 1), float64(n)})
	}
	cdf := Series{Name: "push latency"}
	sorted := slices.Sorted(slices.Values(l.Latencies))
	for i := 0; i < len(sorted); i += max(len(sorted)/400, 1) {
		cdf.Points = append(cdf.Points, Point{sorted[i].Seconds() * 1000, float64(i+1) / float64(len(sorted))})
	}
	if len(sorted) > 0 {
		cdf.Points = append(cdf.Points, Point{sorted[len(sorted)-1].Seconds() * 1000, 1})
	}
	hl := []HLine{}
	if e.BaselineStartsPerSec > 0 {
		hl = append(hl, HLine{Y: pushTargetRatio * e.BaselineStartsPerSec, Label: "target: 0.8 × bare start rate"})
	}
	return Row{Figures: figs, Charts: []Chart{
		{Title: "Push ingress: accepted pushes per second during the load", XLabel: "second of the load", YLabel: "events/s",
			Series: []Series{perSec}, HLines: hl},
		{Title: "Push ingress: distribution of answer latency", XLabel: "milliseconds", YLabel: "share of pushes",
			Series: []Series{cdf}, HLines: []HLine{{Y: 0.99, Label: "p99"}}, YMax: 1},
	}}
}
