//go:build chaos

// Package chaos is `make chaos`: orderflow under injected faults, with
// assertions. Two real worker processes run at once, one of them killed with
// SIGKILL every ~15 s and restarted; two real starters share every Clickpost
// push and billing webhook; the sandbox CRM and merchant fail on purpose
// (deterministically from -chaos.seed), the courier sandbox enforces a limit
// that binds, and the store is restarted once. The RTO part closes with two
// phases (phases_test.go): the CRM refusing connections for longer than the
// webhook's retry window, and a wrong webhook URL fixed and re-driven. At the
// end every RTO order
// must have reached the CRM exactly once (one idempotency key with a 2xx) and
// no other order at all; the courier must have refused no call across both
// workers; every invoice must have ended in the one state its events imply,
// with one merchant payment_succeeded per internal success and no attempt
// charged twice; and no secret may have appeared in a log line or an HTTP
// response.
package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"orderflow/config"
	"orderflow/dev/bench/rig"
	sbcouriers "orderflow/dev/sandbox/couriers"
	"orderflow/dev/sandbox/crm"
	"orderflow/dev/sandbox/demo"
	"orderflow/observability"
	"orderflow/store"
	"orderflow/temporalclient"
	"orderflow/tracking"
	"orderflow/workflows"
)

var (
	long     = flag.Bool("chaos.long", false, "the long run: 1,000 RTO orders and 500 others, 1,000 invoices")
	seed     = flag.Int64("chaos.seed", 1, "seed of every random choice: report order, CRM faults, kill timing")
	sweep    = flag.Bool("chaos.sweep", true, "poll through the real sweep (courier sandbox + starter schedule) as well as receive the Clickpost pushes; false: pushes only")
	deadline = flag.Duration("chaos.deadline", 0, "give up after this long (default: 9 min short, 40 min long; plus a minute for the RTO test's closing phases)")
)

// Distinctive secrets: the run fails if any of them shows up in a log line or an HTTP response.
const (
	apiKey          = "chaos-apikey-DISTINCT-7c41e2b9"
	crmClientID     = "orderflow-chaos"
	crmClientSecret = "chaos-crm-secret-DISTINCT-93b0d5aa"
)

// chaosMongoPoolCap is each process's Mongo pool here, below the rig's
// MongoPoolCap, to keep the connections FerretDB may hold for SIGKILLed
// workers' in-flight requests low.
const chaosMongoPoolCap = 12

// The cluster runs two of each binary, as a deployment scaled out does: the
// killer SIGKILLs one worker at a time while the other keeps polling every
// task queue, the courier queues included, and the status reports, pushes
// and billing events are spread over both starters.
const (
	workerProcesses  = 2
	starterProcesses = 2
)

// crmMaxFaultsPerKey bounds the CRM's 500s and timeouts per idempotency key.
// Unbounded, one key in ~20 runs of 300 drew eight in a row and its delivery's
// back-off (1 s doubling, up to 10 min) outlasted the run's deadline; four
// cost at most 15 s of back-off on top of the worker kills' own failures.
const crmMaxFaultsPerKey = 4

// plan is how big and how hostile a run is.
type plan struct {
	rtoOrders, otherOrders int
	copies                 int           // each report is delivered this many times
	killEvery              time.Duration // mean time between SIGKILLs of the worker
	crmTimeout             time.Duration // the worker's crm.request_timeout
	deadline               time.Duration
}

func planFor(long bool) plan {
	if long {
		return plan{rtoOrders: 1000, otherOrders: 500, copies: 3, killEvery: 15 * time.Second, crmTimeout: 3 * time.Second, deadline: 40 * time.Minute}
	}
	// Short: 300 RTO orders keep the run well under ten minutes on two shared cores.
	return plan{rtoOrders: 300, otherOrders: 150, copies: 3, killEvery: 15 * time.Second, crmTimeout: 3 * time.Second, deadline: 9 * time.Minute}
}

func TestChaosFirstRTOReachesTheCRMExactlyOnce(t *testing.T) {
	p := planFor(*long)
	rng := rand.New(rand.NewPCG(uint64(*seed), 0x0c4a05))
	p.deadline += closingPhasesBudget
	if *deadline > 0 {
		p.deadline = *deadline
	}
	// Ctrl-C ends the run through its cleanups, so no dev server or PostgreSQL is left behind.
	sigCtx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	ctx, cancel := context.WithTimeout(sigCtx, p.deadline)
	defer cancel()
	c := newCluster(t, ctx, p)

	hookID, err := demo.ConfigureRTOWebhook(c.post, demo.CRMCredentials{BaseURL: c.crmURL, ClientID: crmClientID, ClientSecret: crmClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	rtoOrders, otherOrders, awbOf := c.seedOrders(p.rtoOrders, p.otherOrders)
	journeys := c.planJourneys(rng, rtoOrders, otherOrders, awbOf)
	pushes := shuffledPushes(rng, journeys, p.copies)
	how := "all through Clickpost pushes; no sweep"
	if *sweep {
		how = "a third each through poll and push at once, poll only, push only"
	}
	t.Logf("seed %d: %d RTO orders (%s), %d others, %d Clickpost push deliveries", *seed, len(rtoOrders), how, len(otherOrders), len(pushes))

	killer := c.superviseWorkers(rng, p.killEvery)
	start := time.Now()
	// The real sweep polls the courier sandbox every 20 s (and once at once)
	// while Clickpost pushes arrive, all under the worker kills.
	var schedule client.ScheduleHandle
	if *sweep {
		schedule = c.applySweepSchedule(ctx)
	}
	restartAt := len(pushes) / 2
	var sent atomic.Int64
	var restartOnce sync.Once
	err = parallel(ctx, len(pushes), 8, func(i int) error {
		if sent.Add(1) == int64(restartAt) {
			restartOnce.Do(func() { go c.restartStore() })
		}
		return c.deliverPush(ctx, pushes[i])
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d pushes delivered in %v", len(pushes), time.Since(start).Round(time.Millisecond))

	want := map[string]string{} // idempotency key → order
	for _, o := range rtoOrders {
		want[workflows.WebhookIdempotencyKey(o, hookID)] = o
	}
	stopProgress := c.logProgress(len(want))
	defer stopProgress()
	waitFor(t, ctx, "every RTO order's CRM 2xx", func() bool { return len(acceptedKeys(c.crm)) >= len(want) })
	// Every active order has been polled (so a non-RTO order had its chance to
	// go wrong): orders a push made terminal (delivered) left the active set
	// and are rightly never polled. Then the sweep stops and the rest drains.
	waitFor(t, ctx, "every active order polled by the sweep", func() bool {
		if !*sweep {
			return true
		}
		terminal := c.terminalOrders(ctx)
		for _, j := range journeys {
			if !c.couriers.Seen(j.awb) && !terminal[j.order] {
				return false
			}
		}
		return true
	})
	runs := 0
	if *sweep {
		runs = sweepRuns(ctx, schedule)
		if err := schedule.Delete(ctx); err != nil {
			t.Fatal(err)
		}
	}
	kills := killer.stop() // the workers keep running so everything can finish
	waitFor(t, ctx, "every workflow to close", func() bool { return c.running(ctx) == 0 })
	t.Logf("drained after %v; %d sweep runs (%d Delhivery requests); %d worker kills; store restarted %d time(s); CRM faults %+v",
		time.Since(start).Round(time.Second), runs, c.couriers.Stats(tracking.APIDelhivery).Calls, kills, c.storeRestarts.Load(), c.faulty.Stats())

	// The closing phases, on a calm CRM: connections refused for longer than
	// the webhook's retry window, then a wrong URL fixed and re-driven.
	stopProgress()
	phasesStart := time.Now()
	c.faulty.SetCalm(true)
	phaseOrders := append(c.phaseCRMRefusesConnections(ctx, hookID), c.phaseWrongWebhookURL(ctx, hookID)...)
	waitFor(t, ctx, "every workflow to close after the phases", func() bool { return c.running(ctx) == 0 })
	for _, o := range phaseOrders {
		want[workflows.WebhookIdempotencyKey(o, hookID)] = o
	}
	accepted, twice := acceptedKeys(c.crm), 0
	for _, o := range phaseOrders {
		if accepted[workflows.WebhookIdempotencyKey(o, hookID)] > 1 {
			twice++
		}
	}
	t.Logf("closing phases: %d more RTO orders in %v; %d of their keys answered 2xx more than once",
		len(phaseOrders), time.Since(phasesStart).Round(time.Second), twice)

	// Exactly the RTO orders' keys reached the CRM with a 2xx, each carrying its own order.
	got := acceptedKeys(c.crm)
	for key, order := range want {
		if got[key] == 0 {
			t.Errorf("order %s: no 2xx at the CRM for %s", order, key)
		}
	}
	for key := range got {
		if _, ok := want[key]; !ok {
			t.Errorf("the CRM accepted key %q, which belongs to no RTO order", key)
		}
	}
	for _, r := range c.crm.Accepted() {
		if want[r.IdempotencyKey] != r.Body["order_id"] {
			t.Errorf("key %s carried order_id %v", r.IdempotencyKey, r.Body["order_id"])
		}
	}
	repeated := 0
	for _, n := range got {
		if n > 1 {
			repeated++
		}
	}
	// No call at all, even a failed one, for an order that is not RTO.
	others := map[string]bool{}
	for _, o := range otherOrders {
		others[o] = true
	}
	for _, r := range c.crm.Received() {
		if id, _ := r.Body["order_id"].(string); others[id] {
			t.Errorf("the CRM was called (%d) for order %s, which never reached RTO", r.StatusCode, id)
		}
	}
	t.Logf("%d distinct keys with a 2xx for %d RTO orders; %d keys got more than one 2xx (the lost-answer window, absorbed by the Idempotency-Key)",
		len(got), len(want), repeated)

	// The run was as hostile as promised.
	st := c.faulty.Stats()
	if (*sweep && runs < 1) || kills < 2 || c.storeRestarts.Load() != 1 || st.ServerErrors == 0 || st.Timeouts == 0 || st.TokenRejections < 2 {
		t.Errorf("faults not all injected: %d kills, %d store restarts, CRM %+v", kills, c.storeRestarts.Load(), st)
	}
	if len(c.crm.IssuedTokens()) == 0 {
		t.Error("the CRM issued no token: the secret scan would be incomplete")
	}
	if *sweep {
		c.assertCourierLimitHeld()
	}
	c.assertNoSecretLeaked()
}

// assertCourierLimitHeld: the courier never refused a call although the limit
// was pressed (its fullest window at least a third full: on an idle machine
// it reaches 14 of 20; with the two cores saturated by other work the polls
// come slower and it measured 9), with two workers polling the courier's task
// queue under the kills; and both starters took traffic.
func (c *cluster) assertCourierLimitHeld() {
	st := c.couriers.Stats(tracking.APIDelhivery)
	times := c.couriers.CallTimes(tracking.APIDelhivery)
	fullest, span := fullestWindow(times), time.Duration(0)
	if len(times) > 0 {
		span = times[len(times)-1].Sub(times[0])
	}
	c.t.Logf("Delhivery: %d calls answered over %v, %d refused (403); fullest %v window %d of %d; requests per starter %v",
		st.Calls, span.Round(time.Second), st.Rejected, chaosCourierWindow, fullest, chaosCourierLimit, c.starterCalls())
	if st.Rejected != 0 {
		c.t.Errorf("the courier refused %d calls (403) with %d workers polling: the limit did not hold across them", st.Rejected, workerProcesses)
	}
	if 3*fullest < chaosCourierLimit {
		c.t.Errorf("the fullest %v window held %d calls of a limit of %d: the limit was never pressed, so no 403 proves nothing", chaosCourierWindow, fullest, chaosCourierLimit)
	}
	for i, n := range c.starterCalls() {
		if n == 0 {
			c.t.Errorf("starter %d took no request", i+1)
		}
	}
}

// starterCalls is how many requests each starter was sent through callWith.
func (c *cluster) starterCalls() []int64 {
	out := make([]int64, len(c.calls))
	for i, n := range c.calls {
		out[i] = n.Load()
	}
	return out
}

func acceptedKeys(c *crm.CRM) map[string]int {
	keys := map[string]int{}
	for _, r := range c.Accepted() {
		keys[r.IdempotencyKey]++
	}
	return keys
}

// cluster is the whole system: dev server, restartable store, the real
// starter and worker binaries, and the faulty sandbox CRM in this process.
type cluster struct {
	t             *testing.T
	cfg           config.Config
	store         *rig.StoreProcess
	db            *store.Store
	apiURLs       []string        // one per starter process
	calls         []*atomic.Int64 // requests sent to each starter through callWith
	nextCall      atomic.Int64
	crm           *crm.CRM
	faulty        *crm.Faulty
	crmServer     *crm.RefusingServer // refuses connections in the closing phase
	crmURL        string
	marketplace   bson.ObjectID // every order's
	ordersSeeded  int           // orders inserted so far, numbering the next AWB
	workerBin     string
	logs          *syncBuffer // every process's output and this test's own logs
	responses     *syncBuffer // every HTTP response body the starter sent
	storeRestarts atomic.Int32
	temporal      client.Client
	couriers      *sbcouriers.Sandbox // the courier APIs the real sweep polls
	sourceEnv     []string            // courier and Clickpost settings of the worker and starter
	starterBin    string
}

func newCluster(t *testing.T, ctx context.Context, p plan) *cluster {
	t.Helper()
	root, err := rig.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, logs: &syncBuffer{}, responses: &syncBuffer{}}
	dev, err := rig.StartDevServer(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dev.Stop() })
	bins := t.TempDir()
	storeBin, err := rig.BuildBinary(root, bins, "./dev/cmd/devstore")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := rig.StartPostgres(t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := pg.Stop(); err != nil {
			t.Log(err)
		}
	})
	if c.store, err = rig.StartStoreProcess(storeBin, pg.URL, c.logs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.store.Stop)

	c.cfg = config.Default()
	c.cfg.Temporal.Address = dev.Address()
	c.cfg.Temporal.TaskQueue = "orderflow-chaos"
	c.cfg.Mongo.URI = fmt.Sprintf("%s?maxPoolSize=%d", c.store.URI(), chaosMongoPoolCap)
	c.cfg.Mongo.Database = "chaos"
	c.cfg.HTTP.APIKey = apiKey
	// The CRM fails often on purpose: an endpoint it opens is probed every
	// second, not every five minutes, so parked deliveries finish in the run.
	c.cfg.Delivery.Breaker.HalfOpenInterval = time.Second
	if c.db, err = store.Connect(ctx, c.cfg.Mongo.URI, c.cfg.Mongo.Database, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.db.Close(context.Background()) })
	logger, _ := observability.NewLogger("debug", c.logs)
	tc, err := temporalclient.Dial(c.cfg.Temporal, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	c.temporal = tc

	c.crm = crm.New(crmClientID, crmClientSecret, time.Hour)
	c.faulty = c.crm.WithFaults(crm.Faults{Seed: *seed, ServerErrorRate: 0.30, TimeoutRate: 0.05, Hold: p.crmTimeout + 2*time.Second,
		RejectEachTokenOnce: true, MaxFaultsPerKey: crmMaxFaultsPerKey})
	if c.crmServer, err = crm.ServeRefusable(c.faulty); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.crmServer.Close() })
	c.crmURL = c.crmServer.URL()
	c.startCourierSandbox()

	if c.workerBin, err = rig.BuildBinary(root, bins, "./cmd/worker"); err != nil {
		t.Fatal(err)
	}
	if c.starterBin, err = rig.BuildBinary(root, bins, "./cmd/starter"); err != nil {
		t.Fatal(err)
	}
	for range starterProcesses {
		c.startStarter(ctx, p)
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.store.DumpGoroutines() // in the log, in case the store is what hung
			path := filepath.Join(os.TempDir(), fmt.Sprintf("orderflow-chaos-%d.log", *seed))
			_ = os.WriteFile(path, []byte(c.logs.String()), 0o644)
			t.Logf("every process's log is in %s", path)
		}
	})
	return c
}

// startStarter runs one more starter on its own loopback port and waits for its /healthz.
func (c *cluster) startStarter(ctx context.Context, p plan) {
	listen, err := rig.FreeAddr()
	if err != nil {
		c.t.Fatal(err)
	}
	url := "http://" + listen
	starter := c.process(c.starterBin, append([]string{"ORDERFLOW_HTTP_LISTEN=" + listen, fmt.Sprintf("ORDERFLOW_CRM_REQUEST_TIMEOUT=%s", p.crmTimeout)}, c.sourceEnv...)...)
	c.t.Cleanup(func() { _ = starter.Process.Kill(); _ = starter.Wait() })
	waitFor(c.t, ctx, "the starter's /healthz at "+listen, func() bool {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	c.apiURLs = append(c.apiURLs, url)
	c.calls = append(c.calls, new(atomic.Int64))
}

// starterURL is the starter the i-th request goes to: every starter takes an equal share.
func (c *cluster) starterURL(i int) string { return c.apiURLs[i%len(c.apiURLs)] }

// process starts an orderflow binary configured through the environment, as in production.
func (c *cluster) process(bin string, extraEnv ...string) *exec.Cmd {
	return c.processArgs(bin, nil, extraEnv...)
}

// processArgs is process with command-line arguments (`starter schedule apply`).
func (c *cluster) processArgs(bin string, args []string, extraEnv ...string) *exec.Cmd {
	cmd, err := c.startProcess(bin, args, extraEnv...)
	if err != nil {
		c.t.Fatal(err)
	}
	return cmd
}

// startProcess is processArgs returning the error, for goroutines other than the test's.
func (c *cluster) startProcess(bin string, args []string, extraEnv ...string) (*exec.Cmd, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = rig.ProcessEnv(c.cfg, apiKey, "debug") // the most verbose level is the widest net for leaks
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdout, cmd.Stderr = c.logs, c.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // no orphans if the test itself dies
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	return cmd, nil
}

// killer supervises the worker processes: every ~period (±50 %, from the
// seed) it SIGKILLs one of them, drawn from the seed, and restarts it at
// once, so one worker at a time is down and the other keeps polling.
type killer struct {
	mu       sync.Mutex
	cur      []*exec.Cmd // the running process of each worker slot
	kills    int
	stopOnce sync.Once
	done     chan struct{}
	exited   chan struct{}
}

func (c *cluster) superviseWorkers(rng *rand.Rand, period time.Duration) *killer {
	env := append([]string{fmt.Sprintf("ORDERFLOW_CRM_REQUEST_TIMEOUT=%s", planFor(*long).crmTimeout)}, c.sourceEnv...)
	k := &killer{done: make(chan struct{}), exited: make(chan struct{})}
	for range workerProcesses {
		k.cur = append(k.cur, c.process(c.workerBin, env...))
	}
	c.t.Cleanup(func() {
		k.stop()
		for _, w := range k.cur {
			_ = w.Process.Kill()
			_ = w.Wait()
		}
	})
	// Drawn up front: the rng is not shared with goroutines.
	gaps, victims := make([]time.Duration, 1000), make([]int, 1000)
	for i := range gaps {
		gaps[i] = period/2 + time.Duration(rng.Int64N(int64(period)))
		victims[i] = rng.IntN(workerProcesses)
	}
	go func() {
		defer close(k.exited)
		for {
			select {
			case <-k.done:
				return
			case <-time.After(gaps[k.kills%len(gaps)]):
			}
			if !k.killAndRestart(c, victims[k.kills%len(victims)], env) {
				return
			}
		}
	}()
	return k
}

// killAndRestart SIGKILLs worker slot v and starts its replacement; false
// (the test failed) when the replacement cannot start.
func (k *killer) killAndRestart(c *cluster, v int, env []string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_ = k.cur[v].Process.Signal(syscall.SIGKILL)
	_ = k.cur[v].Wait()
	k.kills++
	c.t.Logf("worker %d SIGKILLed (%d)", v+1, k.kills)
	next, err := c.startProcess(c.workerBin, nil, env...)
	if err != nil { // t.Fatal belongs to the test's goroutine: fail the test, stop killing
		c.t.Errorf("restart worker %d: %v", v+1, err)
		return false
	}
	k.cur[v] = next
	return true
}

// stop ends the kills, leaving the current workers running, and returns how many there were.
func (k *killer) stop() int {
	k.stopOnce.Do(func() { close(k.done) })
	<-k.exited
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.kills
}

// restartStore crashes the store and brings it back three seconds later.
func (c *cluster) restartStore() {
	c.t.Log("crashing the store (SIGKILL), restarting it 3 s later")
	if err := c.store.Crash(3 * time.Second); err != nil {
		c.t.Errorf("restart store: %v", err)
		return
	}
	c.storeRestarts.Add(1)
}

// seedOrders inserts the merchant's orders, in transit, as the merchant's system would.
func (c *cluster) seedOrders(rto, other int) (rtoOrders, otherOrders []string, awbOf map[string]string) {
	mp := bson.NewObjectID()
	if _, err := c.db.Database().Collection(store.MarketplacesCollection).InsertOne(context.Background(), bson.M{"_id": mp, "name": "Shopify"}); err != nil {
		c.t.Fatal(err)
	}
	c.marketplace = mp
	awbOf = map[string]string{}
	orders := c.insertOrders(rto + other)
	for i, id := range orders {
		awbOf[id] = fmt.Sprintf("CHAOS%08d", i)
	}
	return orders[:rto], orders[rto:], awbOf
}

// insertOrders inserts n more orders in transit on the run's marketplace,
// numbered on from the ones before, and returns their ids.
func (c *cluster) insertOrders(n int) []string {
	var docs []any
	var ids []string
	for range n {
		i := c.ordersSeeded
		c.ordersSeeded++
		id := bson.NewObjectID()
		docs = append(docs, bson.M{"_id": id, "marketplace": c.marketplace, "customer": bson.M{"name": "Chaos", "phone": fmt.Sprintf("97%08d", i)},
			"total_amt": float64(100 + i), "awb": fmt.Sprintf("CHAOS%08d", i), "courier_name": "delhivery", "tracking_status": tracking.Booked})
		ids = append(ids, id.Hex())
	}
	if _, err := c.db.Database().Collection(store.OrdersCollection).InsertMany(context.Background(), docs); err != nil {
		c.t.Fatal(err)
	}
	return ids
}

// terminalOrders are the orders whose tracking_status the sweep no longer
// polls (none while the store is down: the caller asks again).
func (c *cluster) terminalOrders(ctx context.Context) map[string]bool {
	cur, err := c.db.Database().Collection(store.OrdersCollection).Find(ctx,
		bson.M{"tracking_status": bson.M{"$in": tracking.Terminal}}, options.Find().SetProjection(bson.M{"_id": 1}))
	out := map[string]bool{}
	if err != nil {
		return out
	}
	var docs []struct {
		ID bson.ObjectID `bson:"_id"`
	}
	if cur.All(ctx, &docs) == nil {
		for _, d := range docs {
			out[d.ID.Hex()] = true
		}
	}
	return out
}

// post creates a configuration resource through the starter's API.
func (c *cluster) post(path string, body any) (map[string]any, error) {
	raw, _ := json.Marshal(body)
	code, out, err := c.call(context.Background(), http.MethodPost, path, raw)
	if err != nil || code != http.StatusCreated {
		return nil, fmt.Errorf("POST %s: %d %s %v", path, code, out, err)
	}
	var doc map[string]any
	return doc, json.Unmarshal(out, &doc)
}

// postID is post returning the created resource's id, refusing an answer without one.
func (c *cluster) postID(path string, body any) (string, error) {
	doc, err := c.post(path, body)
	if err != nil {
		return "", err
	}
	id, ok := doc["id"].(string)
	if !ok || id == "" {
		return "", fmt.Errorf("POST %s: answer %v has no id", path, doc)
	}
	return id, nil
}

func (c *cluster) call(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	return c.callWith(ctx, method, path, body, map[string]string{"X-API-Key": apiKey})
}

// callWith sends a request with these headers and records the response body for the secret scan.
func (c *cluster) callWith(ctx context.Context, method, path string, body []byte, headers map[string]string) (int, []byte, error) {
	i := int(c.nextCall.Add(1) - 1)
	c.calls[i%len(c.calls)].Add(1)
	req, err := http.NewRequestWithContext(ctx, method, c.starterURL(i)+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	_, _ = c.responses.Write(append(out, '\n'))
	return resp.StatusCode, out, err
}

// logProgress logs every 30 s how far the run is, until the returned func is called.
func (c *cluster) logProgress(wantKeys int) func() {
	done := make(chan struct{})
	start := time.Now()
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(30 * time.Second):
				c.t.Logf("%v: %d/%d keys accepted by the CRM, %d workflows running, CRM faults %+v",
					time.Since(start).Round(time.Second), len(acceptedKeys(c.crm)), wantKeys, c.running(context.Background()), c.faulty.Stats())
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done) }) }
}

// running counts the workflows still open on the task queue.
func (c *cluster) running(ctx context.Context) int64 {
	resp, err := c.temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Query: fmt.Sprintf("TaskQueue = %q AND ExecutionStatus = 'Running'", c.cfg.Temporal.TaskQueue),
	})
	if err != nil {
		return -1
	}
	return resp.Count
}

// assertNoSecretLeaked fails the run if a secret reached a log line or an HTTP response.
// more are the run's own secrets beyond the cluster's.
func (c *cluster) assertNoSecretLeaked(more ...string) {
	secrets := append([]string{apiKey, crmClientSecret, clickpostKey, delhiveryToken}, c.crm.IssuedTokens()...)
	secrets = append(secrets, c.couriers.IssuedTokens()...)
	secrets = append(secrets, more...)
	for _, where := range []struct{ name, text string }{{"logs", c.logs.String()}, {"HTTP responses", c.responses.String()}} {
		if len(where.text) == 0 {
			c.t.Errorf("nothing captured in %s: the scan would prove nothing", where.name)
		}
		for _, s := range secrets {
			if strings.Contains(where.text, s) {
				c.t.Errorf("a secret (%.6s…) appeared in %s", s, where.name)
			}
		}
	}
}

// syncBuffer collects output from several goroutines and processes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls cond every 200 ms until it holds, failing the test when ctx ends first.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s: %v", what, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// parallel runs fn(0..n-1) on workers goroutines and returns the first error.
func parallel(ctx context.Context, n, workers int, fn func(i int) error) error {
	var next atomic.Int64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
