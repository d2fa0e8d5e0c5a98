//go:build chaos

package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"time"

	"go.temporal.io/sdk/client"

	sbcouriers "orderflow/dev/sandbox/couriers"
)

// Distinctive secrets of the status sources: Clickpost's webhook key and the
// courier API token the sweep polls with.
const (
	clickpostAccount = "chaos"
	clickpostKey     = "chaos-clickpost-key-DISTINCT-1f6e0c3d"
	delhiveryToken   = "chaos-delhivery-token-DISTINCT-8a2b7e55"
	sweepScheduleID  = "tracking-sweep-chaos"
	sweepEvery       = 20 * time.Second
)

// The chaos run's Delhivery limit, scaled down like the rate-limit benchmark's
// so that it binds: the sandbox answers 403 past it and couriers.delhivery
// says the same. Batches of 25 AWBs make one call each, so a sweep of the
// run's 450 orders is 18 calls, more than a window allows. The worker derives
// 0.5 polls/s from it (a budget of 20 × 0.8 = 16 calls per window, less the
// token bucket's burst of one), which the server enforces on the courier task
// queue across both workers: at most 16 calls in any window, where two
// workers each enforcing the rate on their own would let 32 through. The
// margin (0.8, not the default 0.95) leaves 8 s of jitter between a poll's
// dispatch and its call, more than a poll waits on the store's 3 s crash.
const (
	chaosCourierLimit  = 20
	chaosCourierWindow = 30 * time.Second
	chaosCourierMargin = "0.8"
	chaosCourierBatch  = 25
)

// startCourierSandbox serves the Delhivery API the real sweep polls (with the
// scaled limit above) and sets the workers' and starters' courier, sweep and
// Clickpost settings.
func (c *cluster) startCourierSandbox() {
	o := sbcouriers.DefaultOptions()
	o.DelhiveryToken = delhiveryToken
	o.DelhiveryLimit, o.Window, o.RecordCalls = chaosCourierLimit, chaosCourierWindow, true
	c.couriers = sbcouriers.New(o)
	srv := httptest.NewServer(c.couriers.Handler())
	c.t.Cleanup(srv.Close)
	c.sourceEnv = []string{
		"ORDERFLOW_COURIERS_DELHIVERY_BASE_URL=" + srv.URL,
		"ORDERFLOW_COURIERS_DELHIVERY_TOKEN=" + delhiveryToken,
		fmt.Sprintf("ORDERFLOW_COURIERS_DELHIVERY_REQUESTS_PER_WINDOW=%d", chaosCourierLimit),
		"ORDERFLOW_COURIERS_DELHIVERY_WINDOW=" + chaosCourierWindow.String(),
		"ORDERFLOW_COURIERS_DELHIVERY_SAFETY_MARGIN=" + chaosCourierMargin,
		fmt.Sprintf("ORDERFLOW_COURIERS_DELHIVERY_BATCH_SIZE=%d", chaosCourierBatch),
		"ORDERFLOW_COURIERS_DELHIVERY_LIMIT_BACKOFF=10s",
		"ORDERFLOW_SWEEP_SCHEDULE_ID=" + sweepScheduleID,
		"ORDERFLOW_SWEEP_EVERY=" + sweepEvery.String(),
		"ORDERFLOW_PUSH_CLICKPOST_KEYS=" + clickpostAccount + ":" + clickpostKey,
	}
}

// How an order's status reaches orderflow: RTO orders through the poll and
// the push at once, or through only one of them; other orders through both,
// neither ever saying RTO.
const (
	rtoPollAndPush = iota
	rtoPollOnly
	rtoPushOnly
	notRTO
)

// push is one Clickpost webhook delivery.
type push struct {
	awb  string
	code int
	at   time.Time
}

// journey is what the courier API says of one order and what Clickpost pushes for it.
type journey struct {
	order, awb string
	how        int
	courier    sbcouriers.DelhiveryStatus
	pushes     []push
}

// Clickpost status-code paths (clickpost.go's table): 11 RTO requested, 12
// RTO, 21 RTO in transit; the others never touch the RTO family.
var (
	rtoPushPaths   = [][]int{{5, 11}, {5, 21}, {4, 5, 12}}
	otherPushPaths = [][]int{{5, 8}, {5, 9}, {4, 5}, {5, 6, 8}}
	inTransit      = sbcouriers.DelhiveryStatus{Status: "In Transit", StatusType: "UD", StatusCode: "X-PPOM"}
	delivered      = sbcouriers.DelhiveryStatus{Status: "Delivered", StatusType: "DL", StatusCode: "EOD-38"}
	rtoStatuses    = []sbcouriers.DelhiveryStatus{
		{Status: "In Transit", StatusType: "RT", StatusCode: "RT-101"},
		{Status: "RTO", StatusType: "RT", StatusCode: "RT-110"},
	}
)

// planJourneys sets every order's state at the courier sandbox (as of now)
// and draws its pushes. An RTO push is newer than the courier's state, a
// non-RTO one older, so whichever source says RTO also says it last.
func (c *cluster) planJourneys(rng *rand.Rand, rtoOrders, otherOrders []string, awbOf map[string]string) []journey {
	now := time.Now().UTC().Truncate(time.Second)
	pushes := func(codes []int, from time.Time) []push {
		out := make([]push, len(codes))
		for i, code := range codes {
			out[i] = push{code: code, at: from.Add(time.Duration(i) * time.Minute)}
		}
		return out
	}
	var out []journey
	for i, o := range rtoOrders {
		j := journey{order: o, awb: awbOf[o], how: i % 3}
		if !*sweep { // no poll reaches the orders: every RTO is pushed
			j.how = []int{rtoPollAndPush, rtoPushOnly}[i%2]
		}
		switch j.how {
		case rtoPollAndPush:
			j.courier = rtoStatuses[rng.IntN(len(rtoStatuses))]
			j.pushes = pushes(rtoPushPaths[rng.IntN(len(rtoPushPaths))], now.Add(-time.Hour))
		case rtoPollOnly:
			j.courier = rtoStatuses[rng.IntN(len(rtoStatuses))]
			j.pushes = pushes(otherPushPaths[2], now.Add(-2*time.Hour)) // picked up, in transit: before the RTO
		case rtoPushOnly:
			j.courier = inTransit
			j.pushes = pushes(rtoPushPaths[rng.IntN(len(rtoPushPaths))], now.Add(time.Minute))
		}
		out = append(out, j)
	}
	for _, o := range otherOrders {
		j := journey{order: o, awb: awbOf[o], how: notRTO, courier: inTransit,
			pushes: pushes(otherPushPaths[rng.IntN(len(otherPushPaths))], now.Add(-2*time.Hour))}
		if rng.IntN(2) == 0 {
			j.courier = delivered
		}
		out = append(out, j)
	}
	for _, j := range out {
		c.couriers.SetDelhivery(j.awb, j.courier)
	}
	return out
}

// shuffledPushes delivers every push copies times, all shuffled together.
func shuffledPushes(rng *rand.Rand, journeys []journey, copies int) []push {
	var out []push
	for _, j := range journeys {
		for _, p := range j.pushes {
			p.awb = j.awb
			for range copies {
				out = append(out, p)
			}
		}
	}
	rng.Shuffle(len(out), func(i, k int) { out[i], out[k] = out[k], out[i] })
	return out
}

// deliverPush POSTs one Clickpost webhook as Clickpost does (webhook_key
// header), retrying on 503 and on a refused connection like its sender; 200
// (also for a duplicate) is the only success.
func (c *cluster) deliverPush(ctx context.Context, p push) error {
	body, _ := json.Marshal(map[string]any{"waybill": p.awb, "clickpost_status_code": p.code, "cp_id": 4,
		"timestamp": p.at.Format(time.RFC3339), "status": "chaos", "location": "Bhiwandi", "remark": "",
		"additional": map[string]any{"latest_status": map[string]any{"clickpost_status_code": p.code, "timestamp": p.at.Format(time.RFC3339)}}})
	for {
		code, out, err := c.callWith(ctx, http.MethodPost, "/webhooks/clickpost", body, map[string]string{"webhook_key": clickpostKey})
		switch {
		case err == nil && code == http.StatusOK:
			return nil
		case err == nil && code != http.StatusServiceUnavailable:
			return fmt.Errorf("push %s code %d: %d %s", p.awb, p.code, code, out)
		case ctx.Err() != nil:
			return ctx.Err()
		}
		time.Sleep(500 * time.Millisecond) // the sender's back-off before its retry, not a wait for work
	}
}

// applySweepSchedule creates the sweep's Schedule with the real `starter
// schedule apply`, as ops do, and triggers a first run at once.
func (c *cluster) applySweepSchedule(ctx context.Context) client.ScheduleHandle {
	cmd := c.processArgs(c.starterBin, []string{"schedule", "apply"}, c.sourceEnv...)
	if err := cmd.Wait(); err != nil {
		c.t.Fatalf("starter schedule apply: %v", err)
	}
	h := c.temporal.ScheduleClient().GetHandle(ctx, sweepScheduleID)
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		c.t.Fatal(err)
	}
	return h
}

// sweepRuns is how many runs the Schedule has started so far.
func sweepRuns(ctx context.Context, h client.ScheduleHandle) int {
	d, err := h.Describe(ctx)
	if err != nil {
		return -1
	}
	return d.Info.NumActions
}

// fullestWindow is the most admitted calls in any chaosCourierWindow-long
// sliding window of times (in order).
func fullestWindow(times []time.Time) int {
	most, lo := 0, 0
	for hi := range times {
		for times[hi].Sub(times[lo]) >= chaosCourierWindow {
			lo++
		}
		most = max(most, hi-lo+1)
	}
	return most
}
