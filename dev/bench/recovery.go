package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"orderflow/activities"
	"orderflow/config"
	"orderflow/dev/bench/rig"
	"orderflow/dev/sandbox/payments"
	"orderflow/recovery"
	"orderflow/store"
	"orderflow/workflows"
)

// The revenue-recovery row's targets (README's table).
const (
	recoveryTargetInvoices = 10_000
	recoveryTargetRSSMB    = 300
	recoveryTargetLateness = 2 * time.Second
	// recoveryDefaultJitter is the profile default the row runs with.
	recoveryDefaultJitter = store.DefaultMaxRandomDelay
)

// Sandbox secrets of the recovery row (not real ones).
const (
	recoveryStripeKey   = "sk_test_bench_recovery"
	recoveryHashKey     = "whsec_YmVuY2gtcmVjb3ZlcnktaGFzaC1rZXk="
	recoveryWebhookSec  = "whsec_YmVuY2gtY3VzdG9tLWJpbGxpbmctc2VjcmV0"
	recoveryBillingKey  = "billing_bench_api_key"
	recoveryGateway     = "gw_bench"
	recoveryPaymentLine = "pm_bench_insufficient"
)

// timerRun is one invoice's first retry as its history tells it.
type timerRun struct {
	Due      time.Time // TimerStarted + start_to_fire_timeout
	Fired    time.Time // TimerFired
	PickedUp time.Time // the worker's next workflow task started
	Events   int64
	Actions  int64
}

// recoveryTimers is what the row measured.
type recoveryTimers struct {
	Invoices     int
	Waiting      int // on their timer when the first one fell due
	FirstRetry   time.Duration
	StartSeconds float64
	Jitter       time.Duration // the profile's max_random_schedule_delay
	IdleRSSMB    float64
	WaitingRSSMB float64 // largest sample from the first start until the first retry was due
	PeakRSSMB    float64 // VmHWM at the end: the firing burst included
	Runs         []timerRun
	RSS          []Point // seconds since the first start → MB
	StickyCache  int
}

// runRecoveryTimers starts RevenueRecovery for N invoices whose profile puts
// the first retry a fixed time ahead, measures the real worker binary's
// resident memory while they all wait on their timers, then each timer's
// lateness from its history when they fire. The payment processor declines
// every retry softly, so each invoice goes back to waiting (3 h) afterwards.
func runRecoveryTimers(ctx context.Context, e *Env, o Options) (Row, error) {
	// The profile's jitter is the default a merchant gets (300 s); -short
	// scales it down with the first retry to stay within five minutes.
	n, firstRetry, jitter := recoveryTargetInvoices, 180*time.Second, recoveryDefaultJitter
	if o.Short {
		n, firstRetry, jitter = 1500, 45*time.Second, 60*time.Second
	}
	s, err := e.NewStack(ctx, "recovery")
	if err != nil {
		return Row{}, err
	}
	defer s.Close()
	processor := payments.New(recoveryStripeKey)
	processor.SetScenario(func(string, string, int) payments.Outcome {
		return payments.Outcome{Kind: payments.Decline, Code: "card_declined", DeclineCode: "insufficient_funds"}
	})
	procSrv := httptest.NewServer(processor.Handler())
	defer procSrv.Close()
	ids, err := configureRecovery(s, procSrv.URL, firstRetry, jitter)
	if err != nil {
		return Row{}, err
	}
	w, err := startWorkerBinary(s)
	if err != nil {
		return Row{}, err
	}
	defer w.stop()
	if err := waitUntil(ctx, time.Minute, "the worker binary's first poll", func() (bool, error) {
		return w.rssMB() > 0 && time.Since(w.started) > 3*time.Second, nil
	}); err != nil {
		return Row{}, err
	}
	m := recoveryTimers{Invoices: n, FirstRetry: firstRetry, IdleRSSMB: w.rssMB(), StickyCache: config.Default().Worker.StickyCacheSize, Jitter: jitter}
	o.Logf("  worker binary up (pid %d, %.0f MB); starting %d recoveries, first retry %v ahead", w.cmd.Process.Pid, m.IdleRSSMB, n, firstRetry)

	t0 := time.Now()
	sampler := w.sample(t0)
	if err := startRecoveries(ctx, e, s, ids, n, o.Concurrency); err != nil {
		return Row{}, err
	}
	m.StartSeconds = time.Since(t0).Seconds()
	firstDue := t0.Add(firstRetry)
	if m.Waiting, err = waitForTimers(ctx, e, s, n, firstDue.Add(-time.Second)); err != nil {
		return Row{}, err
	}
	if m.Waiting < n {
		o.Logf("  only %d of %d waiting on their timer when the first fell due: this machine started them too slowly", m.Waiting, n)
	} else {
		o.Logf("  all %d waiting after %.0f s; sampling the worker's memory until the first is due", n, time.Since(t0).Seconds())
		// The measurement window itself: the clock is the only thing to wait for.
		select {
		case <-ctx.Done():
			return Row{}, ctx.Err()
		case <-time.After(time.Until(firstDue.Add(-time.Second))):
		}
	}
	m.WaitingRSSMB = sampler.maxSince(t0)
	if err := waitUntil(ctx, 30*time.Minute, "every first retry to reach the processor", func() (bool, error) {
		return len(processor.Charges()) >= n, nil
	}); err != nil {
		return Row{}, err
	}
	m.RSS = sampler.stop()
	m.PeakRSSMB = w.hwmMB()
	o.Logf("  all fired; reading %d histories", n)
	if m.Runs, err = timerRuns(ctx, e.Temporal, s.Cfg.Temporal.TaskQueue, o.Concurrency); err != nil {
		return Row{}, err
	}
	if len(m.Runs) != n {
		return Row{}, fmt.Errorf("%d histories with a fired timer, want %d", len(m.Runs), n)
	}
	return recoveryRow(m), nil
}

// waitForTimers waits until every invoice waits on its retry timer, or until
// the deadline, and returns how many wait.
func waitForTimers(ctx context.Context, e *Env, s *Stack, n int, deadline time.Time) (int, error) {
	for {
		waiting, err := countWorkflows(ctx, e.Temporal, s.Cfg.Temporal.TaskQueue, fmt.Sprintf("RecoveryStatus = %q", workflows.RecoveryScheduled))
		if err != nil || waiting >= int64(n) || time.Now().After(deadline) {
			return int(waiting), err
		}
		select {
		case <-ctx.Done():
			return int(waiting), ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// recoveryIDs are the configured profile and connectors.
type recoveryIDs struct{ Profile, Billing, Payment string }

// configureRecovery creates, through the API, a cascading profile whose
// first retry is firstRetry after the failure plus up to jitter of random
// delay (each timer's own due time is in its history), the sandbox processor
// and a custom billing connector.
func configureRecovery(s *Stack, processorURL string, firstRetry, jitter time.Duration) (recoveryIDs, error) {
	var ids recoveryIDs
	prof, err := s.post("/v1/profiles", map[string]any{
		"merchant_id": "bench_merchant", "profile_name": "bench", "webhook_url": processorURL + "/merchant-unused",
		"payment_response_hash_key": recoveryHashKey, "revenue_recovery_retry_algorithm_type": "cascading",
		"cascading_schedule": map[string]any{"start_after_seconds": 0, "frequencies": []map[string]any{
			{"delay_seconds": int(firstRetry / time.Second), "count": 1}, {"delay_seconds": 3 * 3600, "count": 2}}},
		"max_random_schedule_delay_in_seconds": int(jitter / time.Second),
	})
	if err != nil {
		return ids, err
	}
	ids.Profile = fmt.Sprint(prof["id"])
	pay, err := s.post("/v1/connector-accounts", map[string]any{
		"profile_id": ids.Profile, "connector_type": "payment_processor", "connector_name": "stripe",
		"base_url": processorURL, "connector_account_details": map[string]any{"auth_type": "HeaderKey", "api_key": recoveryStripeKey},
	})
	if err != nil {
		return ids, err
	}
	ids.Payment = fmt.Sprint(pay["id"])
	bill, err := s.post("/v1/connector-accounts", map[string]any{
		"profile_id": ids.Profile, "connector_type": "billing_processor", "connector_name": recovery.CustomBilling,
		"base_url": processorURL, "connector_account_details": map[string]any{"auth_type": "HeaderKey", "api_key": recoveryBillingKey},
		"connector_webhook_details": map[string]any{"merchant_secret": recoveryWebhookSec},
		"feature_metadata": map[string]any{"revenue_recovery": map[string]any{
			"max_retry_count": 3, "billing_connector_retry_threshold": 0,
			"billing_account_reference": map[string]any{ids.Payment: recoveryGateway},
		}},
	})
	if err != nil {
		return ids, err
	}
	ids.Billing = fmt.Sprint(bill["id"])
	return ids, nil
}

// startRecoveries Signal-With-Starts one RevenueRecovery per invoice with the
// options, input and signal the billing ingress builds for a failed payment
// (ingress/recovery.go), straight through the client: this row measures the
// timers, not the ingress.
func startRecoveries(ctx context.Context, e *Env, s *Stack, ids recoveryIDs, n, concurrency int) error {
	prof, err := s.Store.Profile(ctx, ids.Profile)
	if err != nil {
		return err
	}
	acct, err := s.Store.ConnectorAccount(ctx, ids.Billing)
	if err != nil {
		return err
	}
	rm := acct.Recovery()
	return parallel(ctx, n, concurrency, func(i int) error {
		invoice := fmt.Sprintf("inv_bench_%06d", i)
		wfID := workflows.RevenueRecoveryWorkflowID(ids.Profile, invoice)
		sig := workflows.RecoverySignal{Action: recovery.ScheduleFailedPayment, Event: recovery.Event{
			Platform: recovery.CustomBilling, EventID: "evt_bench_" + invoice, PlatformEventType: "invoice.payment_failed",
			Kind: recovery.PaymentFailure, InvoiceID: invoice, TransactionID: "txn_bench_" + invoice,
			Amount: 4900, Currency: "USD", ConnectorCustomerID: "cus_bench_" + invoice, PaymentMethodToken: recoveryPaymentLine,
			ErrorCode: "card_declined", DeclineCode: "insufficient_funds", PlatformAttemptCount: 1, GatewayAccountID: recoveryGateway,
			OccurredAt: time.Now().UTC(),
		}}
		_, err := e.Temporal.SignalWithStartWorkflow(ctx, wfID, workflows.RecoveryEventSignal, sig, client.StartWorkflowOptions{
			ID: wfID, TaskQueue: s.Cfg.Temporal.TaskQueue, WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				workflows.InvoiceIDAttr.ValueSet(invoice),
				workflows.RecoveryStatusAttr.ValueSet(workflows.RecoveryAwaitingEvent),
				workflows.RetryCountAttr.ValueSet(0)),
		}, workflows.RevenueRecovery, workflows.RevenueRecoveryInput{RevenueRecoveryStart: activities.RevenueRecoveryStart{
			ProfileID: ids.Profile, MerchantID: prof.MerchantID, InvoiceID: invoice, BillingConnectorID: ids.Billing,
			PaymentConnectorID: rm.PaymentConnectorID(recoveryGateway), Policy: prof.Policy(rm.MaxRetryCount), PSyncDelays: prof.PSyncDelays(),
		}})
		return err
	})
}

// workerProcess is the real worker binary, configured through ORDERFLOW_* as in production.
type workerProcess struct {
	cmd     *exec.Cmd
	dir     string
	log     *os.File
	started time.Time
}

func startWorkerBinary(s *Stack) (*workerProcess, error) {
	root, err := rig.RepoRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "orderflow-bench-worker-")
	if err != nil {
		return nil, err
	}
	bin, err := rig.BuildBinary(root, dir, "./cmd/worker")
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	w := &workerProcess{cmd: exec.Command(bin), dir: dir}
	if w.log, err = os.Create(filepath.Join(dir, "worker.log")); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	w.cmd.Env = rig.ProcessEnv(s.Cfg, apiKey, "warn")
	w.cmd.Stdout, w.cmd.Stderr = w.log, w.log
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := w.cmd.Start(); err != nil {
		_ = w.log.Close()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	w.started = time.Now()
	return w, nil
}

func (w *workerProcess) stop() {
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = w.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = w.cmd.Process.Kill()
		<-done
	}
	_ = w.log.Close()
	_ = os.RemoveAll(w.dir)
}

// statusMB reads one "Vm…: N kB" line of /proc/<pid>/status, in MB (0 if unreadable).
func (w *workerProcess) statusMB(field string) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func (w *workerProcess) rssMB() float64 { return w.statusMB("VmRSS") }
func (w *workerProcess) hwmMB() float64 { return w.statusMB("VmHWM") }

// rssSampler reads the worker's VmRSS every half second.
type rssSampler struct {
	mu      sync.Mutex
	at      []time.Time
	mb      []float64
	t0      time.Time
	done    chan struct{}
	stopped chan struct{}
}

func (w *workerProcess) sample(t0 time.Time) *rssSampler {
	r := &rssSampler{t0: t0, done: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(r.stopped)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			mb := w.rssMB()
			r.mu.Lock()
			r.at, r.mb = append(r.at, time.Now()), append(r.mb, mb)
			r.mu.Unlock()
			select {
			case <-r.done:
				return
			case <-tick.C:
			}
		}
	}()
	return r
}

// maxSince is the largest sample taken at or after from.
func (r *rssSampler) maxSince(from time.Time) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	best := 0.0
	for i, at := range r.at {
		if !at.Before(from) {
			best = max(best, r.mb[i])
		}
	}
	return best
}

func (r *rssSampler) stop() []Point {
	close(r.done)
	<-r.stopped
	pts := make([]Point, len(r.at))
	for i := range r.at {
		pts[i] = Point{r.at[i].Sub(r.t0).Seconds(), r.mb[i]}
	}
	return pts
}

// timerRuns reads every RevenueRecovery's history on queue for its first timer.
func timerRuns(ctx context.Context, tc client.Client, queue string, concurrency int) ([]timerRun, error) {
	var execs [][2]string
	if err := listWorkflows(ctx, tc, fmt.Sprintf("TaskQueue = %q", queue), func(id, run string) {
		execs = append(execs, [2]string{id, run})
	}); err != nil {
		return nil, err
	}
	runs := make([]timerRun, len(execs))
	err := parallel(ctx, len(execs), concurrency, func(i int) error {
		r, err := timerRunOf(ctx, tc, execs[i][0], execs[i][1])
		runs[i] = r
		return err
	})
	return runs, err
}

var errNoTimerFired = errors.New("no TimerFired in the history")

func timerRunOf(ctx context.Context, tc client.Client, id, run string) (timerRun, error) {
	var r timerRun
	timerID := int64(0)
	it := tc.GetWorkflowHistory(ctx, id, run, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return r, err
		}
		r.Events++
		r.Actions += actionsOf(ev)
		at := ev.EventTime.AsTime()
		switch ev.EventType {
		case enums.EVENT_TYPE_TIMER_STARTED:
			if timerID == 0 {
				timerID = ev.EventId
				r.Due = at.Add(ev.GetTimerStartedEventAttributes().GetStartToFireTimeout().AsDuration())
			}
		case enums.EVENT_TYPE_TIMER_FIRED:
			if ev.GetTimerFiredEventAttributes().GetStartedEventId() == timerID {
				r.Fired = at
			}
		case enums.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			if !r.Fired.IsZero() && r.PickedUp.IsZero() {
				r.PickedUp = at
			}
		}
	}
	if r.Fired.IsZero() || r.PickedUp.IsZero() {
		return r, fmt.Errorf("%s: %w", id, errNoTimerFired)
	}
	return r, nil
}

// recoveryRow: counts per invoice first, then memory and lateness.
func recoveryRow(m recoveryTimers) Row {
	n := m.Invoices
	var events, actions int64
	var late, pickup []time.Duration
	for _, r := range m.Runs {
		events += r.Events
		actions += r.Actions
		late = append(late, r.Fired.Sub(r.Due))
		pickup = append(pickup, r.PickedUp.Sub(r.Due))
	}
	// Only the workflows in the sticky cache hold worker memory while they wait.
	cached := min(m.Waiting, m.StickyCache)
	perInvoiceKB := (m.WaitingRSSMB - m.IdleRSSMB) * 1024 / float64(cached)
	rssAt10k := m.WaitingRSSMB
	rssName := fmt.Sprintf("worker RSS with %d invoices waiting", m.Waiting)
	if m.Waiting < recoveryTargetInvoices && m.Waiting < m.StickyCache { // -short: extrapolated to a full cache
		rssAt10k = m.IdleRSSMB + perInvoiceKB*float64(min(recoveryTargetInvoices, m.StickyCache))/1024
		rssName = fmt.Sprintf("worker RSS at 10,000 invoices waiting (extrapolated: idle + %d cached × per-invoice, from %d)",
			min(recoveryTargetInvoices, m.StickyCache), m.Waiting)
	}
	p95 := percentile(late, 95)
	figs := []Figure{
		plain("invoices started", float64(n), "invoices"),
		plain("of which waiting on their timer when the first retry fell due", float64(m.Waiting), "invoices"),
		plain("Temporal history events per invoice (start → first retry declined → waiting again)", round(float64(events)/float64(n), 1), "events"),
		plain("Temporal actions per invoice (same span)", round(float64(actions)/float64(n), 1), "actions"),
		plain("worker sticky workflow cache size (worker.sticky_cache_size default)", float64(m.StickyCache), "workflows"),
		plain("first retry due after the failure", m.FirstRetry.Seconds(), "s"),
		plain("Signal-With-Start of every invoice took", round(m.StartSeconds, 1), "s"),
		plain("retry jitter (max_random_schedule_delay_in_seconds; the default is 300)", m.Jitter.Seconds(), "s"),
		plain("worker RSS idle (binary started, nothing running)", round(m.IdleRSSMB, 1), "MB"),
	}
	if rssAt10k != m.WaitingRSSMB {
		figs = append(figs, plain(fmt.Sprintf("worker RSS with %d invoices waiting (measured)", m.Waiting), round(m.WaitingRSSMB, 1), "MB"))
	}
	figs = append(figs,
		plain("worker memory per cached waiting invoice", round(perInvoiceKB, 1), "KB"),
		target(rssName, round(rssAt10k, 1), "MB", "≤ 300 MB", rssAt10k <= recoveryTargetRSSMB),
		plain("worker peak RSS (VmHWM, the firing burst included)", round(m.PeakRSSMB, 1), "MB"),
		plain("timer lateness p50 (TimerFired − due)", round(percentile(late, 50).Seconds(), 3), "s"),
		target("timer lateness p95 (TimerFired − due)", round(p95.Seconds(), 3), "s", "≤ 2 s", p95 <= recoveryTargetLateness),
		plain("timer lateness max", round(percentile(late, 100).Seconds(), 3), "s"),
		plain("due → worker's workflow task started p95 (the retry begins)", round(percentile(pickup, 95).Seconds(), 3), "s"),
	)
	rss := Series{Name: "worker VmRSS", Points: m.RSS}
	cdf := Series{Name: "TimerFired − due"}
	cdfPick := Series{Name: "due → worker task started"}
	for _, pair := range []struct {
		s  *Series
		xs []time.Duration
	}{{&cdf, late}, {&cdfPick, pickup}} {
		sorted := slices.Sorted(slices.Values(pair.xs))
		for i := 0; i < len(sorted); i += max(len(sorted)/400, 1) {
			pair.s.Points = append(pair.s.Points, Point{sorted[i].Seconds(), float64(i+1) / float64(len(sorted))})
		}
		pair.s.Points = append(pair.s.Points, Point{sorted[len(sorted)-1].Seconds(), 1})
	}
	return Row{Figures: figs, Charts: []Chart{
		{Title: fmt.Sprintf("Revenue recovery: worker memory, %d invoices started then waiting, first retries due at %.0f s", n, m.FirstRetry.Seconds()),
			XLabel: "seconds since the first start", YLabel: "MB", Series: []Series{rss},
			HLines: []HLine{{Y: recoveryTargetRSSMB, Label: "target ≤ 300 MB (10,000 invoices)"}}},
		{Title: fmt.Sprintf("Revenue recovery: timer lateness, %d timers due within %.0f s", n, m.StartSeconds+m.Jitter.Seconds()),
			XLabel: "seconds late", YLabel: "share of timers", Series: []Series{cdf, cdfPick},
			HLines: []HLine{{Y: 0.95, Label: "p95"}}, YMax: 1},
	}}
}

// listWorkflows calls fn for every execution matching query.
func listWorkflows(ctx context.Context, tc client.Client, query string, fn func(id, run string)) error {
	req := &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1000}
	for {
		page, err := tc.ListWorkflow(ctx, req)
		if err != nil {
			return err
		}
		for _, ex := range page.Executions {
			fn(ex.Execution.WorkflowId, ex.Execution.RunId)
		}
		if len(page.NextPageToken) == 0 {
			return nil
		}
		req.NextPageToken = page.NextPageToken
	}
}
