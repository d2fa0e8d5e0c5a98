package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.temporal.io/sdk/client"

	"orderflow/config"
	sbcouriers "orderflow/dev/sandbox/couriers"
	"orderflow/dev/sandbox/crm"
	"orderflow/dev/sandbox/demo"
	"orderflow/starter"
	"orderflow/store"
	"orderflow/tracking"
	"orderflow/tracking/couriers/delhivery"
	"orderflow/workflows"
)

const detectRowName = "first-RTO detection latency: uniform vs adaptive polling at the same courier budget"

// The detection row's scenario. Simulated time runs detectFactor times
// faster than real time: a 5-minute sweep is 4 real seconds. The courier's
// rate lets one sweep poll a quarter of the fleet (detectCoverEvery), as for
// a large merchant whose active shipments outnumber Delhivery's 37,500 per
// 5 minutes. Batches of 50 (one call each) keep the courier queue's rate
// above one activity a second: the dev server's task-queue rate limiter
// dispatched nothing at 0.2–0.4 activities a second.
const (
	detectFactor     = 75
	detectSweep      = 5 * time.Minute // simulated
	detectCoverEvery = 4               // N: uniform polling covers the fleet once every N sweeps
	detectBatch      = 50              // one Delhivery call per poll activity
	detectTargetP50  = 0.5             // adaptive p50 ÷ uniform p50
	detectPushSource = "clickpost"
)

// detectScenario is the seeded fleet both modes are measured on.
func detectScenario(short bool) (sbcouriers.FleetScenario, time.Duration) {
	sc := sbcouriers.FleetScenario{Seed: 20261206, Orders: 1200, Warmup: 45 * time.Minute, Window: 3 * time.Hour,
		RTOShare: 0.15, NDRDeliveredShare: 0.10, DeliveredShare: 0.25, PushShare: 0.20}
	if short {
		sc.Window = 2 * time.Hour
	}
	return sc, sc.Window + 45*time.Minute // the run: the window and 9 sweeps for the last RTOs to reach the CRM
}

// sim converts a simulated duration to real time.
func sim(d time.Duration) time.Duration { return d / detectFactor }

// detectRun is one mode's measurement.
type detectRun struct {
	Mode             string
	Latencies        []time.Duration // RTO change → first CRM 2xx, real time
	PolledLatencies  []time.Duration // of the orders no push reports
	RTOs, Undetected int
	Calls            int
	OrderDays        float64
	SweepsStarted    int
	SweepsSkipped    int // the previous sweep still ran (the Schedule's overlap policy: skip)
	Pushes           int
	Slowest          []string // the slowest RTOs, slowest first: what the tail is made of
}

// runDetection measures uniform, then adaptive, polling on the same seeded fleet.
func runDetection(ctx context.Context, e *Env, o Options) (Row, error) {
	sc, length := detectScenario(o.Short)
	fleet := sc.Generate()
	var runs []detectRun
	for _, mode := range []string{tracking.PollUniform, tracking.PollAdaptive} {
		o.Logf("  %s polling: %d orders, %v simulated (%v real)", mode, sc.Orders, length, sim(length))
		r, err := measureDetection(ctx, e, sc, fleet, length, mode)
		if err != nil {
			return Row{}, fmt.Errorf("%s: %w", mode, err)
		}
		o.Logf("  %s: p50 %v p95 %v (real), %d of %d RTOs detected, %d courier calls, %d sweeps (%d skipped), %d pushes",
			mode, percentile(r.Latencies, 50), percentile(r.Latencies, 95), r.RTOs-r.Undetected, r.RTOs, r.Calls,
			r.SweepsStarted, r.SweepsSkipped, r.Pushes)
		for _, line := range r.Slowest {
			o.Logf("    slow: %s", line)
		}
		runs = append(runs, r)
	}
	return detectRow(sc, length, runs[0], runs[1]), nil
}

// detectCourier is Delhivery B2C with the smallest limit whose sweep budget
// is 1/N of the fleet (its window five sweeps long, as 5 minutes are of Delhivery's).
func detectCourier(c *config.Courier, fleet int) error {
	c.BatchSize, c.SafetyMargin, c.Window, c.LimitBackoff = detectBatch, 1, 5*sim(detectSweep), sim(time.Minute)
	want := fleet / detectCoverEvery
	for c.RequestsPerWindow = 1; c.SweepBudget(delhivery.MaxWaybills, sim(detectSweep), 1) < want; c.RequestsPerWindow++ {
	}
	if got := c.SweepBudget(delhivery.MaxWaybills, sim(detectSweep), 1); got != want {
		return fmt.Errorf("bench: the courier's sweep budget is %d orders, want %d", got, want)
	}
	return nil
}

func detectConfig(mode string, fleet int) func(*config.Config) error {
	return func(c *config.Config) error {
		c.Couriers.DelhiveryB2B.BaseURL, c.Couriers.Shiprocket.BaseURL = "", "" // Delhivery B2C only
		c.Sweep.Every = sim(detectSweep)
		p := &c.Sweep.Polling
		p.Mode = mode
		p.BackoffBase, p.MaxGap, p.SafetyNet = sim(p.BackoffBase), sim(p.MaxGap), sim(p.SafetyNet)
		p.PushCoveredSources = []string{detectPushSource}
		return detectCourier(&c.Couriers.Delhivery, fleet)
	}
}

func measureDetection(ctx context.Context, e *Env, sc sbcouriers.FleetScenario, fleet []sbcouriers.Journey, length time.Duration, mode string) (detectRun, error) {
	var cfgErr error
	o := sbcouriers.DefaultOptions()
	o.DelhiveryLimit, o.Window = 1<<30, time.Second // the rate limit is the task queue's: the sandbox counts calls
	s, err := newSweepStack(ctx, e, "detect", o, func(c *config.Config) { cfgErr = detectConfig(mode, sc.Orders)(c) }, 0)
	if err == nil && cfgErr != nil {
		s.Close()
		err = cfgErr
	}
	if err != nil {
		return detectRun{}, err
	}
	defer s.Close()
	if _, err := demo.ConfigureRTOWebhook(s.post, demo.CRMCredentials{BaseURL: s.CRMURL, ClientID: crmClientID, ClientSecret: crmClientSecret}); err != nil {
		return detectRun{}, err
	}
	if err := s.putPushCredentials(detectPushSource, pushClickpostKey); err != nil {
		return detectRun{}, err
	}
	start := time.Now().Add(2 * time.Second) // the window opens once the fleet is seeded
	ids, err := seedDetectionFleet(ctx, s.Store, fleet, start)
	if err != nil {
		return detectRun{}, err
	}
	r := detectRun{Mode: mode, OrderDays: float64(sc.Orders) * length.Hours() / 24}
	rtoAt, pushes, err := s.playAndSweep(ctx, e.Temporal, fleet, start, length, &r)
	if err != nil {
		return r, err
	}
	r.Pushes = pushes
	r.Calls = s.couriers.Stats(tracking.APIDelhivery).Calls
	r.collect(fleet, ids, rtoAt, s.CRM.Accepted())
	return r, nil
}

// playAndSweep plays the fleet's changes (pushing the pushed orders' through
// Clickpost) while starting a sweep every interval, skipping one while the
// previous still runs, as the Schedule does. It returns each RTO change's time by journey.
func (s *sweepStack) playAndSweep(ctx context.Context, tc client.Client, fleet []sbcouriers.Journey, start time.Time,
	length time.Duration, r *detectRun) (map[int]time.Time, int, error) {
	playCtx, stop := context.WithDeadline(ctx, start.Add(sim(length)))
	defer stop()
	var mu sync.Mutex
	rtoAt := map[int]time.Time{}
	pushQueue := make(chan sbcouriers.Timed, 4096)
	pushErr := make(chan error, 1)
	var pushes int
	var pushers sync.WaitGroup
	for range 4 {
		pushers.Add(1)
		go func() {
			defer pushers.Done()
			for t := range pushQueue {
				if err := s.pushClickpost(fleet[t.Journey].AWB, t.Change.Status); err != nil {
					select {
					case pushErr <- err:
					default:
					}
				}
				mu.Lock()
				pushes++
				mu.Unlock()
			}
		}()
	}
	played := make(chan struct{})
	go func() {
		defer close(played)
		s.couriers.PlayFleet(playCtx, fleet, start, detectFactor, length, func(t sbcouriers.Timed, at time.Time) {
			if t.Change.Status == tracking.RTOInTransit {
				mu.Lock()
				rtoAt[t.Journey] = at
				mu.Unlock()
			}
			if fleet[t.Journey].Pushed {
				pushQueue <- t
			}
		})
	}()
	err := s.sweepEvery(playCtx, tc, start, r)
	<-played
	close(pushQueue)
	pushers.Wait()
	select {
	case perr := <-pushErr:
		err = perr
	default:
	}
	return rtoAt, pushes, err
}

// sweepEvery starts a TrackingSweep at every interval from start until ctx
// ends, unless the previous one is still running; then ends the one running.
func (s *sweepStack) sweepEvery(ctx context.Context, tc client.Client, start time.Time, r *detectRun) error {
	in := starter.SweepInput(s.Cfg)
	var running client.WorkflowRun
	done := make(chan error, 1)
	for k := 0; ; k++ {
		select {
		case <-ctx.Done():
			if running != nil {
				_ = tc.TerminateWorkflow(context.Background(), running.GetID(), "", "benchmark over")
			}
			return nil
		case <-time.After(time.Until(start.Add(time.Duration(k) * s.Cfg.Sweep.Every))):
		}
		if running != nil {
			select {
			case err := <-done:
				if err != nil && ctx.Err() != nil {
					return nil // the run ended while the sweep's result was awaited
				}
				if err != nil {
					return fmt.Errorf("sweep %s: %w", running.GetID(), err)
				}
				running = nil
			default:
				r.SweepsSkipped++
				continue
			}
		}
		run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: fmt.Sprintf("bench-detect-%s-%d", s.Cfg.Temporal.TaskQueue, k), TaskQueue: s.Cfg.Temporal.TaskQueue}, workflows.TrackingSweep, in)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		running = run
		r.SweepsStarted++
		go func() { done <- run.Get(ctx, nil) }()
	}
}

// collect pairs each RTO change with the order's first CRM 2xx.
func (r *detectRun) collect(fleet []sbcouriers.Journey, ids []string, rtoAt map[int]time.Time, accepted []crm.Received) {
	first := map[string]time.Time{}
	for _, a := range accepted {
		id, _ := a.Body["order_id"].(string)
		if t, seen := first[id]; !seen || a.At.Before(t) {
			first[id] = a.At
		}
	}
	type detected struct {
		journey int
		latency time.Duration
	}
	var all []detected
	for j, at := range rtoAt {
		r.RTOs++
		done, ok := first[ids[j]]
		if !ok {
			r.Undetected++
			continue
		}
		all = append(all, detected{j, done.Sub(at)})
		r.Latencies = append(r.Latencies, done.Sub(at))
		if !fleet[j].Pushed {
			r.PolledLatencies = append(r.PolledLatencies, done.Sub(at))
		}
	}
	slices.SortFunc(all, func(a, b detected) int { return cmp.Compare(b.latency, a.latency) })
	for _, d := range all[:min(len(all), detectTraced)] {
		r.Slowest = append(r.Slowest, describeRTO(fleet[d.journey], d.latency))
	}
}

// detectTraced is how many of the slowest RTOs a run describes in its log.
const detectTraced = 12

// describeRTO says what an RTO's journey looked like around the window's
// start and its RTO: where its detection time went.
func describeRTO(j sbcouriers.Journey, latency time.Duration) string {
	if len(j.Changes) == 0 {
		return fmt.Sprintf("%.1f sim min: pushed %v", simMinutes(latency), j.Pushed)
	}
	at0, failed := j.StateAt(0)
	var steps []string
	for _, c := range j.Changes {
		if c.At > -12*time.Hour {
			steps = append(steps, fmt.Sprintf("%s@%.0fm", c.Status, c.At.Minutes()))
		}
	}
	return fmt.Sprintf("%.1f sim min: pushed %v, at the start %s (failed before: %v); %s",
		simMinutes(latency), j.Pushed, at0.Status, failed, strings.Join(steps, " "))
}

// seedDetectionFleet inserts the fleet's orders as up-to-date polling left
// them when the window opens: each in its state at time 0, since its
// (compressed) time, its failed attempt remembered, pushed orders marked as
// last reported by the push source.
func seedDetectionFleet(ctx context.Context, st *store.Store, fleet []sbcouriers.Journey, start time.Time) ([]string, error) {
	db := st.Database()
	mp := bson.NewObjectID()
	if _, err := db.Collection(store.MarketplacesCollection).InsertOne(ctx, bson.M{"_id": mp, "name": "Shopify"}); err != nil {
		return nil, err
	}
	wall := func(at time.Duration) time.Time { return start.Add(sim(at)).UTC() }
	ids := make([]string, len(fleet))
	docs := make([]any, len(fleet))
	for i, j := range fleet {
		c, failed := j.StateAt(0)
		id := bson.NewObjectID()
		ids[i] = id.Hex()
		d := c.Step.Delhivery
		stamps := bson.M{strings.TrimPrefix(tracking.TimestampField(c.Status), "tracking_timestamps."): wall(c.At)}
		if failed {
			stamps[strings.TrimPrefix(tracking.TimestampField(tracking.NDR), "tracking_timestamps.")] = wall(c.At)
		}
		doc := bson.M{"_id": id, "marketplace": mp, "customer": bson.M{"name": "Bench", "phone": fmt.Sprintf("9%09d", i)},
			"total_amt": float64(100 + i%900), "awb": j.AWB, "courier_name": tracking.CourierNameDelhivery,
			"tracking_status": c.Status, "tracking_status_at": wall(c.At), "tracking_source": "bench-seed",
			"tracking_timestamps": stamps, "tracking_raw_status": tracking.APIDelhivery + ":" + d.StatusType + "/" + d.Status + "/" + d.StatusCode}
		if j.Pushed {
			doc["tracking_pushed_at"], doc["tracking_push_source"] = wall(c.At), detectPushSource
		}
		docs[i] = doc
	}
	_, err := db.Collection(store.OrdersCollection).InsertMany(ctx, docs)
	return ids, err
}

// clickpostCodes are the Clickpost status codes of the fleet's changes.
var clickpostCodes = map[string]int{tracking.InTransit: 5, tracking.OutForDelivery: 6, tracking.Delivered: 8,
	tracking.NDR: 9, tracking.RTOInTransit: 21}

// pushClickpost sends a change as Clickpost's webhook would, stamped now.
func (s *Stack) pushClickpost(awb, status string) error {
	code, _, err := s.send(http.MethodPost, "/webhooks/clickpost", clickpostScan(awb, clickpostCodes[status], time.Now()), "webhook_key", pushClickpostKey)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("clickpost push for %s answered %d", awb, code)
	}
	return err
}

// putPushCredentials sets a push source's secret through the configuration API.
func (s *Stack) putPushCredentials(source, secret string) error {
	raw, _ := json.Marshal(map[string]any{"secrets": []string{secret}})
	code, _, err := s.send(http.MethodPut, "/v1/push-credentials/"+source+"/"+pushAccount, raw, "X-API-Key", apiKey)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("PUT push credentials for %s: %d", source, code)
	}
	return err
}

// simMinutes is a real duration in simulated minutes.
func simMinutes(d time.Duration) float64 { return round(d.Minutes()*detectFactor, 1) }

func detectRow(sc sbcouriers.FleetScenario, length time.Duration, uni, ada detectRun) Row {
	up50 := percentile(uni.Latencies, 50)
	ratio := ada.p50Ratio(up50)
	uCalls, aCalls := float64(uni.Calls)/uni.OrderDays, float64(ada.Calls)/ada.OrderDays
	figs := []Figure{
		plain("fleet (Delhivery B2C orders)", float64(sc.Orders), fmt.Sprintf("orders: %.0f %% RTO, %.0f %% NDR then delivered, %.0f %% delivered, the rest in transit; %.0f %% also pushed (Clickpost, push-covered); scenario seeded with %d",
			sc.RTOShare*100, sc.NDRDeliveredShare*100, sc.DeliveredShare*100, sc.PushShare*100, sc.Seed)),
		plain("time compression (simulated ÷ real)", detectFactor, fmt.Sprintf("× (a %v sweep every %v real; %v simulated per mode)", detectSweep, sim(detectSweep), length)),
		plain("sweeps for uniform polling to cover the fleet once (N: the courier budget is 1/N of the fleet per sweep)", detectCoverEvery, "sweeps"),
	}
	for _, r := range []detectRun{uni, ada} {
		p50, p95 := percentile(r.Latencies, 50), percentile(r.Latencies, 95)
		figs = append(figs,
			plain(r.Mode+": RTO change → CRM 2xx p50", simMinutes(p50), fmt.Sprintf("simulated min (%.2f s real)", p50.Seconds())),
			plain(r.Mode+": RTO change → CRM 2xx p95", simMinutes(p95), fmt.Sprintf("simulated min (%.2f s real)", p95.Seconds())),
			plain(r.Mode+": p50 of the orders no push reports", simMinutes(percentile(r.PolledLatencies, 50)), "simulated min"),
			plain(r.Mode+": RTOs detected", float64(r.RTOs-r.Undetected), fmt.Sprintf("of %d", r.RTOs)),
			plain(r.Mode+": courier calls per order-day", round(float64(r.Calls)/r.OrderDays, 1), fmt.Sprintf("calls (%d calls, %.0f order-days)", r.Calls, r.OrderDays)),
			plain(r.Mode+": sweeps started / skipped (previous still running)", float64(r.SweepsStarted), fmt.Sprintf("/ %d skipped", r.SweepsSkipped)),
		)
	}
	figs = append(figs,
		target("adaptive p50 ÷ uniform p50", round(ratio, 2), "ratio", "≤ 0.5", ratio <= detectTargetP50 && ada.Undetected <= uni.Undetected),
		target("adaptive calls ÷ uniform calls", round(aCalls/max(uCalls, 1e-9), 2), "ratio", "≤ 1.00", aCalls <= uCalls),
	)
	return Row{Figures: figs}
}

// p50Ratio is this run's p50 over another's (1 when the other has none).
func (r detectRun) p50Ratio(other time.Duration) float64 {
	if other <= 0 {
		return 1
	}
	return percentile(r.Latencies, 50).Seconds() / other.Seconds()
}
