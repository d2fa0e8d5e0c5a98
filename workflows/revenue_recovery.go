package workflows

import (
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/recovery"
)

// RevenueRecoveryInput configures one invoice's recovery. RecoveryIngest
// resolves it from the business profile and the billing connector when it
// starts the workflow; secrets stay in Mongo and are read by the activities.
type RevenueRecoveryInput struct {
	// RevenueRecoveryStart is what a hand-off or a restart fills.
	activities.RevenueRecoveryStart
	// PendingTimeout bounds a wait on a pending payment before retries resume (default 72 h).
	PendingTimeout time.Duration `json:"pending_timeout,omitempty"`
	// ContinueAsNewAfter is how many retries one run makes before continuing as new (default 10).
	ContinueAsNewAfter int `json:"continue_as_new_after,omitempty"`
	// State is carried across continue-as-new; nil on the first run.
	State *RecoveryState `json:"state,omitempty"`
}

// changeRestartAndCardUpdates versions restarted generations, card-update
// signals and the recoveries record: runs started before it behave as they did.
const changeRestartAndCardUpdates = "restart-generations-card-updates"

// RecoverySignal is a billing event and the action RecoveryIngest decided for it.
type RecoverySignal = activities.RecoverySignal

// Recovery statuses (the RecoveryStatus search attribute).
const (
	RecoveryAwaitingEvent     = activities.RecoveryAwaitingEvent
	RecoveryScheduled         = activities.RecoveryScheduledStatus
	RecoveryExecuting         = "executing"
	RecoverySyncing           = "syncing"
	RecoveryPending           = "pending_external"
	RecoverySucceededInternal = "succeeded_internal"
	RecoverySucceededExternal = "succeeded_external"
	RecoveryCancelled         = "cancelled"
	RecoveryExhausted         = "exhausted"
	RecoveryHardDeclined      = "hard_declined"
	RecoveryMonitoringOnly    = "monitoring"
	// RecoveryNetworkLimited: the card networks' rules allow no further charge
	// on the card inside the recovery's window.
	RecoveryNetworkLimited = "network_limited"
)

func isTerminal(status string) bool {
	switch status {
	case RecoverySucceededInternal, RecoverySucceededExternal, RecoveryCancelled, RecoveryExhausted,
		RecoveryHardDeclined, RecoveryMonitoringOnly, RecoveryNetworkLimited:
		return true
	}
	return false
}

// RecoveryIntent is the payment being recovered.
type RecoveryIntent struct {
	Amount              int64  `json:"amount"`
	Currency            string `json:"currency"`
	ConnectorCustomerID string `json:"connector_customer_id"`
	PaymentMethodToken  string `json:"payment_method_token"`
	CardNetwork         string `json:"card_network,omitempty"`
	CardFunding         string `json:"card_funding,omitempty"`
	FirstErrorCode      string `json:"first_error_code,omitempty"`
	FirstDeclineCode    string `json:"first_decline_code,omitempty"`
}

// RecoveryAttemptRecord is one payment attempt, ours or the platform's.
type RecoveryAttemptRecord struct {
	Retry          int                  `json:"retry,omitempty"` // our retry number; 0 for the platform's
	TriggeredBy    recovery.TriggeredBy `json:"triggered_by"`
	TransactionID  string               `json:"transaction_id,omitempty"`
	Status         string               `json:"status"`
	ErrorCode      string               `json:"error_code,omitempty"`
	DeclineCode    string               `json:"decline_code,omitempty"`
	IdempotencyKey string               `json:"idempotency_key,omitempty"`
	EventID        string               `json:"event_id,omitempty"`
	// PaymentMethodToken is the payment method our attempt charged.
	PaymentMethodToken string    `json:"payment_method_token,omitempty"`
	At                 time.Time `json:"at"`
}

// RecoveryWebhookOutcome is where the merchant webhook stands.
type RecoveryWebhookOutcome struct {
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	Status    string `json:"status"` // pending, delivered, failed
	Error     string `json:"error,omitempty"`
}

// RecoveryState is the workflow's state, carried across continue-as-new.
type RecoveryState struct {
	Status       string                   `json:"status"`
	RetryCount   int                      `json:"retry_count"` // our retries made
	NextRetryAt  *time.Time               `json:"next_retry_at,omitempty"`
	Intent       RecoveryIntent           `json:"intent"`
	Attempts     []RecoveryAttemptRecord  `json:"attempts"`
	LastDecline  recovery.Decline         `json:"last_decline"`
	SeenEvents   []string                 `json:"seen_events"`
	Webhooks     []RecoveryWebhookOutcome `json:"webhooks"`
	RecordedBack bool                     `json:"recorded_back,omitempty"`
	// SettledKeys counts our charges with a definite answer (succeeded or
	// declined). The next charge's idempotency key is the next one after them,
	// so a charge whose answer never came (the activity gave up, or it stayed
	// processing past every sync) is sent again under the same key: the
	// processor replays that payment instead of making a second one.
	SettledKeys int       `json:"settled_keys,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	Runs        int       `json:"runs"`
	// RetryBase is the retries of earlier generations: RetryCount counts on
	// from it, while this generation's schedule and max_retry_count start at 0.
	RetryBase int `json:"retry_base,omitempty"`
	// NetworkBlock is the last charge the card networks' rules held back.
	NetworkBlock *RecoveryNetworkBlock `json:"network_block,omitempty"`
	// GivenUpMethods are the payment methods the recovery stopped charging
	// before switching to another of the customer's (workflows/card_switch.go).
	GivenUpMethods []RecoveryGivenUpMethod `json:"given_up_methods,omitempty"`
	// SucceededWith is the payment method our successful charge was made with.
	SucceededWith string `json:"succeeded_with,omitempty"`
	// RetryTiming is the adaptive algorithm's choice of the latest scheduled
	// retry and why, e.g. "slot 09:00 IST, day 1: 41 % of 212 past attempts"
	// (workflows/adaptive_timing.go); nil for the other algorithms.
	RetryTiming *recovery.SlotChoice `json:"retry_timing,omitempty"`
}

// RecoveryView is the answer of RecoveryStateQuery: the state and the
// projected schedule of our next retries (without jitter).
type RecoveryView struct {
	InvoiceID string        `json:"invoice_id"`
	State     RecoveryState `json:"state"`
	Schedule  []time.Time   `json:"schedule"`
}

// RecoveryResult is the terminal outcome.
type RecoveryResult struct {
	Status     string                   `json:"status"`
	RetryCount int                      `json:"retry_count"`
	Webhooks   []RecoveryWebhookOutcome `json:"webhooks"`
}

const maxSeenEvents = 200

// RevenueRecovery recovers one invoice: billing events arrive as signals;
// our retries wait on durable timers (the CALCULATE task of Hyperswitch), run
// as a payment activity (EXECUTE) with a status sync for processing results
// (PSYNC), record the outcome back at the billing platform, and — only when
// our own retry succeeds — send the merchant one signed payment_succeeded.
// External success, cancellation, a hard decline or exhaustion stop it.
func RevenueRecovery(ctx workflow.Context, in RevenueRecoveryInput) (RecoveryResult, error) {
	w, err := newRevenueRecovery(ctx, in)
	if err != nil {
		return RecoveryResult{}, err
	}
	return w.run(ctx)
}

type revenueRecovery struct {
	in      RevenueRecoveryInput
	st      RecoveryState
	id      string
	signals workflow.ReceiveChannel
	logger  log.Logger
	// version is changeRestartAndCardUpdates' for this run; cardUpdates is nil before it.
	version     workflow.Version
	cardUpdates workflow.ReceiveChannel
	recorded    string // what was last written to the recoveries record
}

func newRevenueRecovery(ctx workflow.Context, in RevenueRecoveryInput) (*revenueRecovery, error) {
	if in.ProfileID == "" || in.InvoiceID == "" || in.PaymentConnectorID == "" {
		return nil, temporal.NewNonRetryableApplicationError("RevenueRecovery needs a profile, an invoice and a payment connector", "InvalidInput", nil)
	}
	w := &revenueRecovery{
		in:      in,
		id:      workflow.GetInfo(ctx).WorkflowExecution.ID,
		signals: workflow.GetSignalChannel(ctx, RecoveryEventSignal),
		logger:  log.With(workflow.GetLogger(ctx), "invoice_id", in.InvoiceID, "profile_id", in.ProfileID),
		version: workflow.GetVersion(ctx, changeRestartAndCardUpdates, workflow.DefaultVersion, 1),
	}
	if w.version >= 1 {
		w.cardUpdates = workflow.GetSignalChannel(ctx, PaymentMethodUpdatedSignal)
	}
	if in.State != nil {
		w.st = *in.State
	} else {
		w.st = RecoveryState{Status: RecoveryAwaitingEvent, Attempts: []RecoveryAttemptRecord{}, SeenEvents: []string{},
			Webhooks: []RecoveryWebhookOutcome{}, StartedAt: workflow.Now(ctx)}
	}
	w.st.Runs++
	w.in.State = nil
	if w.version >= 1 && in.State == nil && in.Restart != nil {
		w.restartFrom(ctx, *in.Restart)
	}
	w.in.Restart = nil
	err := workflow.SetQueryHandler(ctx, RecoveryStateQuery, func() (RecoveryView, error) {
		return RecoveryView{InvoiceID: w.in.InvoiceID, State: w.st, Schedule: w.projectedSchedule()}, nil
	})
	if err != nil {
		return nil, err
	}
	w.upsertSearchAttributes(ctx)
	return w, nil
}

func (w *revenueRecovery) run(ctx workflow.Context) (RecoveryResult, error) {
	retriesThisRun := 0
	for !isTerminal(w.st.Status) {
		w.recordState(ctx)
		if retriesThisRun >= w.continueAsNewAfter() || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			w.drainSignals(ctx)
			if isTerminal(w.st.Status) {
				break
			}
			next := w.in
			state := w.st
			next.State = &state
			return RecoveryResult{}, workflow.NewContinueAsNewError(ctx, RevenueRecovery, next)
		}
		switch w.st.Status {
		case RecoveryScheduled:
			if w.waitForRetry(ctx) {
				w.retry(ctx)
				retriesThisRun++
			}
		case RecoveryPending:
			w.waitOnPending(ctx)
		default:
			w.receive(ctx)
		}
	}
	w.drainSignals(ctx)
	w.recordState(ctx)
	w.logger.Info("revenue recovery finished", "status", w.st.Status, "retry_count", w.st.RetryCount)
	// Through the SDK's metrics handler (on the worker's Prometheus registry), which stays silent on replay.
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"status": w.st.Status}).Counter("orderflow_recovery_outcomes").Inc(1)
	return RecoveryResult{Status: w.st.Status, RetryCount: w.st.RetryCount, Webhooks: w.st.Webhooks}, nil
}

func (w *revenueRecovery) continueAsNewAfter() int {
	if w.in.ContinueAsNewAfter > 0 {
		return w.in.ContinueAsNewAfter
	}
	return 10
}

// receive blocks for the next billing event and handles it.
func (w *revenueRecovery) receive(ctx workflow.Context) {
	var s RecoverySignal
	w.signals.Receive(ctx, &s)
	w.handle(ctx, s)
}

// drainSignals handles every event already delivered before the workflow
// continues as new or completes, so the next run carries them or the final
// state reflects them (events after a terminal state are logged, no more).
func (w *revenueRecovery) drainSignals(ctx workflow.Context) {
	for {
		var s RecoverySignal
		if !w.signals.ReceiveAsync(&s) {
			break
		}
		w.handle(ctx, s)
	}
	for w.cardUpdates != nil {
		var u activities.PaymentMethodUpdate
		if !w.cardUpdates.ReceiveAsync(&u) {
			return
		}
		w.handleCardUpdate(ctx, u)
	}
}

// waitForRetry sleeps on a durable timer until the next retry, unless a
// billing event arrives first; it reports whether the retry is due.
func (w *revenueRecovery) waitForRetry(ctx workflow.Context) bool {
	wait := w.st.NextRetryAt.Sub(workflow.Now(ctx))
	if wait <= 0 { // due already (e.g. right after continue-as-new); an event may still move it
		w.drainSignals(ctx)
		return w.st.Status == RecoveryScheduled && !w.st.NextRetryAt.After(workflow.Now(ctx))
	}
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	fired := false
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(workflow.NewTimer(timerCtx, wait), func(f workflow.Future) { fired = f.Get(ctx, nil) == nil })
	sel.AddReceive(w.signals, func(c workflow.ReceiveChannel, _ bool) {
		var s RecoverySignal
		c.Receive(ctx, &s)
		w.handle(ctx, s)
	})
	updated := false
	if w.cardUpdates != nil {
		sel.AddReceive(w.cardUpdates, func(c workflow.ReceiveChannel, _ bool) {
			var u activities.PaymentMethodUpdate
			c.Receive(ctx, &u)
			updated = w.handleCardUpdate(ctx, u)
		})
	}
	sel.Select(ctx)
	if updated { // the customer's new card: retry now, not at the timer
		return w.st.Status == RecoveryScheduled && !w.st.NextRetryAt.After(workflow.Now(ctx))
	}
	if fired {
		// The selector prefers the timer when an event was delivered in the
		// same task (a backlog after an outage): handle those events first, so
		// an invoice cancelled or paid meanwhile is never charged, and a new
		// failure moves the retry to its new time.
		w.drainSignals(ctx)
	}
	return fired && w.st.Status == RecoveryScheduled && !w.st.NextRetryAt.After(workflow.Now(ctx))
}

// waitOnPending waits for the pending payment's outcome; past PendingTimeout retries resume.
func (w *revenueRecovery) waitOnPending(ctx workflow.Context) {
	timeout := w.in.PendingTimeout
	if timeout <= 0 {
		timeout = 72 * time.Hour
	}
	var s RecoverySignal
	ok, _ := w.signals.ReceiveWithTimeout(ctx, timeout, &s)
	if !ok {
		w.logger.Warn("pending payment had no outcome in time; resuming retries", "timeout", timeout)
		w.schedule(ctx)
		return
	}
	w.handle(ctx, s)
}

// handle applies one billing event; repeats (same event id) change nothing.
func (w *revenueRecovery) handle(ctx workflow.Context, s RecoverySignal) {
	ev := s.Event
	key := ev.EventID
	if key == "" {
		key = string(s.Action) + ":" + ev.TransactionID
	}
	if w.seen(key) {
		w.logger.Info("duplicate billing event ignored", "event_id", ev.EventID)
		return
	}
	if w.isOurs(ev.TransactionID) && s.Action != recovery.CancelInvoice {
		w.logger.Info("billing event reports our own attempt; no action", "transaction_id", ev.TransactionID)
		return
	}
	if isTerminal(w.st.Status) {
		// Ingress recorded it; the recovery is over and a new one is not
		// started for this invoice: say so where operations look.
		w.logger.Info("billing event after the recovery ended; no action", "status", w.st.Status,
			"action", s.Action, "event_id", ev.EventID)
		return
	}
	external := RecoveryAttemptRecord{TriggeredBy: recovery.External, TransactionID: ev.TransactionID, ErrorCode: ev.ErrorCode,
		DeclineCode: ev.DeclineCode, EventID: ev.EventID, At: workflow.Now(ctx)}
	switch s.Action {
	case recovery.ScheduleFailedPayment:
		external.Status = activities.PaymentFailed
		w.st.Attempts = append(w.st.Attempts, external)
		w.updateIntent(ev)
		w.st.LastDecline = recovery.Classify(ev.ErrorCode, ev.DeclineCode, "")
		networkForbids := w.countPlatformDecline(ctx, ev)
		if networkForbids { // the card network forbids any further attempt on this card
			w.st.LastDecline.Class = recovery.Hard
		}
		w.schedule(ctx)
		if networkForbids && w.st.Status == RecoveryHardDeclined { // as after our own charge: try the customer's other card
			w.switchPaymentMethod(ctx, RecoveryHardDeclined)
		}
	case recovery.SuccessPaymentExternal:
		external.Status = activities.PaymentSucceeded
		w.st.Attempts = append(w.st.Attempts, external)
		w.setStatus(ctx, RecoverySucceededExternal)
	case recovery.CancelInvoice:
		w.setStatus(ctx, RecoveryCancelled)
	case recovery.PendingPayment:
		external.Status = activities.PaymentProcessing
		w.st.Attempts = append(w.st.Attempts, external)
		w.updateIntent(ev)
		w.st.NextRetryAt = nil
		w.setStatus(ctx, RecoveryPending)
	default:
		w.logger.Info("billing event needs no action", "action", s.Action, "event_id", ev.EventID)
	}
}

func (w *revenueRecovery) seen(key string) bool {
	for _, k := range w.st.SeenEvents {
		if k == key {
			return true
		}
	}
	w.st.SeenEvents = append(w.st.SeenEvents, key)
	if len(w.st.SeenEvents) > maxSeenEvents {
		w.st.SeenEvents = w.st.SeenEvents[len(w.st.SeenEvents)-maxSeenEvents:]
	}
	return false
}

func (w *revenueRecovery) isOurs(transactionID string) bool {
	if transactionID == "" {
		return false
	}
	for _, a := range w.st.Attempts {
		if a.TriggeredBy == recovery.Internal && a.TransactionID == transactionID {
			return true
		}
	}
	return false
}

// updateIntent keeps the newest payment details the platform reports.
func (w *revenueRecovery) updateIntent(ev recovery.Event) {
	in := &w.st.Intent
	if ev.Amount > 0 {
		in.Amount, in.Currency = ev.Amount, ev.Currency
	}
	if ev.ConnectorCustomerID != "" {
		in.ConnectorCustomerID = ev.ConnectorCustomerID
	}
	if ev.PaymentMethodToken != "" {
		in.PaymentMethodToken = ev.PaymentMethodToken
	}
	if ev.CardNetwork != "" {
		in.CardNetwork, in.CardFunding = ev.CardNetwork, ev.CardFunding
	}
	if in.FirstErrorCode == "" && in.FirstDeclineCode == "" {
		in.FirstErrorCode, in.FirstDeclineCode = ev.ErrorCode, ev.DeclineCode
	}
}

// schedule sets the next retry time from the policy, or stops.
func (w *revenueRecovery) schedule(ctx workflow.Context) {
	delay, stop := recovery.NextRetry(w.in.Policy, w.st.RetryCount-w.st.RetryBase, w.st.LastDecline)
	switch stop {
	case recovery.Continue:
		at := w.adaptiveSlot(ctx, workflow.Now(ctx).Add(delay)).Add(w.jitter(ctx))
		w.st.NextRetryAt = &at
		w.setStatus(ctx, RecoveryScheduled)
	case recovery.HardDeclined:
		w.st.NextRetryAt = nil
		w.setStatus(ctx, RecoveryHardDeclined)
	case recovery.NoRetries:
		w.st.NextRetryAt = nil
		w.setStatus(ctx, RecoveryMonitoringOnly)
	default:
		w.st.NextRetryAt = nil
		w.setStatus(ctx, RecoveryExhausted)
	}
}

// jitter is 1..MaxJitter whole seconds from the workflow's deterministic
// random stream: replays draw the same values, no side effect is recorded.
func (w *revenueRecovery) jitter(ctx workflow.Context) time.Duration {
	limit := uint64(w.in.Policy.MaxJitter / time.Second)
	if limit == 0 {
		return 0
	}
	n := workflow.GetRandomStream(ctx, "revenue-recovery-jitter").Uint64()
	return time.Duration(1+n%limit) * time.Second
}

// retry runs our next payment attempt and acts on its outcome.
func (w *revenueRecovery) retry(ctx workflow.Context) {
	n := w.st.RetryCount + 1
	in := activities.ChargeInput{
		WorkflowID: w.id, ProfileID: w.in.ProfileID, InvoiceID: w.in.InvoiceID, PaymentConnectorID: w.in.PaymentConnectorID,
		Attempt: n, IdempotencyKey: RecoveryGenerationPaymentIdempotencyKey(w.id, w.in.Generation, w.st.SettledKeys+1), Amount: w.st.Intent.Amount,
		Currency: w.st.Intent.Currency, CustomerID: w.st.Intent.ConnectorCustomerID, PaymentMethodToken: w.st.Intent.PaymentMethodToken,
		RetriedDeclineClass: string(w.st.LastDecline.Class),
	}
	rules := w.networkRules(ctx, &in)
	w.st.NextRetryAt = nil
	w.st.RetryCount = n
	w.setStatus(ctx, RecoveryExecuting)
	var res activities.PaymentResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, recoveryPayment), ra.ChargeInvoice, in).Get(ctx, &res)
	if err != nil {
		w.logger.Warn("payment attempt could not be made", "retry", n, "error", err)
		res = activities.PaymentResult{Status: activities.PaymentFailed, ErrorCode: "connector_error", ErrorMessage: err.Error()}
	}
	if rules && res.Status == activities.PaymentBlocked {
		w.networkBlocked(ctx, res)
		if w.st.Status == RecoveryNetworkLimited {
			w.switchPaymentMethod(ctx, RecoveryNetworkLimited)
		}
		return
	}
	if res.Status == activities.PaymentProcessing {
		in.PaymentIntentID = res.PaymentIntentID
		res = w.sync(ctx, in, res)
	}
	if err == nil && res.Status != activities.PaymentProcessing {
		w.st.SettledKeys++
	}
	w.st.Attempts = append(w.st.Attempts, RecoveryAttemptRecord{Retry: n, TriggeredBy: recovery.Internal, TransactionID: res.PaymentIntentID,
		Status: res.Status, ErrorCode: res.ErrorCode, DeclineCode: res.DeclineCode, IdempotencyKey: in.IdempotencyKey,
		PaymentMethodToken: in.PaymentMethodToken, At: workflow.Now(ctx)})

	switch res.Status {
	case activities.PaymentSucceeded:
		w.st.SucceededWith = in.PaymentMethodToken
		w.setStatus(ctx, RecoverySucceededInternal)
		w.recordBack(ctx, res)
		w.notify(ctx, recovery.EventPaymentSucceeded, res)
	default:
		w.st.LastDecline = recovery.Classify(res.ErrorCode, res.DeclineCode, res.AdviceCode)
		if rules && res.NetworkRule != "" { // the card network forbids any further attempt on this card
			w.st.LastDecline.Class = recovery.Hard
		}
		if res.Status == activities.PaymentProcessing { // never settled: count it as a transient failure
			w.st.LastDecline = recovery.Decline{Class: recovery.Transient, Code: "processing_timeout"}
		}
		w.schedule(ctx)
		if w.st.Status == RecoveryHardDeclined && !w.switchPaymentMethod(ctx, RecoveryHardDeclined) {
			w.notify(ctx, recovery.EventPaymentFailed, res)
		}
	}
}

// defaultPSyncDelays: 60 s, 5 min ×5, then hourly for a day.
func defaultPSyncDelays() []time.Duration {
	d := []time.Duration{time.Minute}
	for range 5 {
		d = append(d, 5*time.Minute)
	}
	for range 24 {
		d = append(d, time.Hour)
	}
	return d
}

// sync re-reads a processing payment until it settles (PSYNC).
func (w *revenueRecovery) sync(ctx workflow.Context, in activities.ChargeInput, res activities.PaymentResult) activities.PaymentResult {
	delays := w.in.PSyncDelays
	if len(delays) == 0 {
		delays = defaultPSyncDelays()
	}
	w.setStatus(ctx, RecoverySyncing)
	for _, d := range delays {
		if err := workflow.Sleep(ctx, d); err != nil {
			return res
		}
		var synced activities.PaymentResult
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, recoveryPayment), ra.SyncPayment, in).Get(ctx, &synced)
		if err != nil {
			w.logger.Warn("payment status sync failed; trying again later", "error", err)
			continue
		}
		if synced.Status != activities.PaymentProcessing {
			return synced
		}
	}
	return res
}

func (w *revenueRecovery) recordBack(ctx workflow.Context, res activities.PaymentResult) {
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, recoveryRecordBack), ra.RecordBack, activities.RecordBackInput{
		BillingConnectorID: w.in.BillingConnectorID, InvoiceID: w.in.InvoiceID, Amount: w.st.Intent.Amount,
		Currency: w.st.Intent.Currency, PaymentIntentID: res.PaymentIntentID,
	}).Get(ctx, nil)
	if err != nil {
		// The platform may keep dunning a paid invoice: make it visible (the
		// query shows recorded_back=false) and countable, not only logged.
		w.logger.Error("recording the payment back at the billing platform failed", "error", err)
		workflow.GetMetricsHandler(ctx).Counter("orderflow_recovery_record_back_failures").Inc(1)
		return
	}
	w.st.RecordedBack = true
}

// notify sends the merchant one webhook of eventType. The body is built here,
// once, so every delivery retry carries the same bytes and the same event_id.
func (w *revenueRecovery) notify(ctx workflow.Context, eventType string, res activities.PaymentResult) {
	now := workflow.Now(ctx)
	eventID := RecoveryGenerationWebhookEventID(w.id, w.in.Generation, eventType)
	// encoding/json on structs is deterministic (fields in declaration order,
	// map keys sorted); workflowcheck flags it only for its reflection caches.
	//workflowcheck:ignore
	body, err := recovery.BuildWebhook(recovery.PaymentOutcome{
		MerchantID: w.in.MerchantID, EventID: eventID, EventType: eventType,
		PaymentID: w.in.InvoiceID + "_pay_" + shortHash(w.id)[:20], InvoiceID: w.in.InvoiceID,
		Amount: w.st.Intent.Amount, Currency: w.st.Intent.Currency, ConnectorCustomerID: w.st.Intent.ConnectorCustomerID,
		PaymentMethodToken: w.st.Intent.PaymentMethodToken, PaymentIntentID: res.PaymentIntentID,
		PaymentConnectorID: w.in.PaymentConnectorID, BillingConnectorID: w.in.BillingConnectorID, TotalRetryCount: w.st.RetryCount,
		CardNetwork: w.st.Intent.CardNetwork, CardFunding: w.st.Intent.CardFunding, FirstErrorCode: w.st.Intent.FirstErrorCode,
		FirstDeclineCode: w.st.Intent.FirstDeclineCode, ErrorCode: res.ErrorCode, ErrorMessage: res.ErrorMessage,
		DeclineCode: res.DeclineCode, Created: w.st.StartedAt, Modified: now, At: now,
	})
	outcome := RecoveryWebhookOutcome{EventID: eventID, EventType: eventType, Status: "pending"}
	if err != nil {
		outcome.Status, outcome.Error = "failed", "could not build the body"
		w.st.Webhooks = append(w.st.Webhooks, outcome)
		return
	}
	w.st.Webhooks = append(w.st.Webhooks, outcome)
	i := len(w.st.Webhooks) - 1
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, recoveryWebhook), ra.DeliverRecoveryWebhook, activities.RecoveryWebhookInput{
		ProfileID: w.in.ProfileID, InvoiceID: w.in.InvoiceID, WorkflowID: w.id, EventID: eventID, EventType: eventType, Body: body,
	}).Get(ctx, nil)
	if err != nil {
		w.logger.Error("merchant webhook not delivered", "event_id", eventID, "error", err)
		w.st.Webhooks[i].Status, w.st.Webhooks[i].Error = "failed", err.Error()
		return
	}
	w.st.Webhooks[i].Status = "delivered"
}

func (w *revenueRecovery) setStatus(ctx workflow.Context, status string) {
	if w.st.Status == status {
		return
	}
	w.st.Status = status
	w.upsertSearchAttributes(ctx)
}

func (w *revenueRecovery) upsertSearchAttributes(ctx workflow.Context) {
	err := workflow.UpsertTypedSearchAttributes(ctx,
		InvoiceIDAttr.ValueSet(w.in.InvoiceID),
		RecoveryStatusAttr.ValueSet(w.st.Status),
		RetryCountAttr.ValueSet(int64(w.st.RetryCount)))
	if err != nil {
		w.logger.Warn("search attributes not updated", "error", err)
	}
}

// projectedSchedule lists the next retry and the ones the policy would
// follow with if each failed softly (jitter excluded). Read-only: used by the query.
func (w *revenueRecovery) projectedSchedule() []time.Time {
	if w.st.NextRetryAt == nil {
		return []time.Time{}
	}
	out := []time.Time{*w.st.NextRetryAt}
	at := *w.st.NextRetryAt
	for done := w.st.RetryCount - w.st.RetryBase + 1; len(out) < 20; done++ {
		d, stop := recovery.NextRetry(w.in.Policy, done, recovery.Decline{Class: recovery.Soft})
		if stop != recovery.Continue {
			break
		}
		at = at.Add(d)
		out = append(out, at)
	}
	return out
}

// restartFrom sets up the first run of a restarted generation: the intent
// the recovery had (or the customer's new card), attempts counted on from
// the earlier generations, and a schedule from now, or a retry at once after
// a card update. The hard decline or exhaustion that closed the last
// generation is behind it: the new one starts from a soft failure.
func (w *revenueRecovery) restartFrom(ctx workflow.Context, r activities.RecoveryRestart) {
	w.st.Intent = RecoveryIntent{Amount: r.Amount, Currency: r.Currency, ConnectorCustomerID: r.ConnectorCustomerID,
		PaymentMethodToken: r.PaymentMethodToken, CardNetwork: r.CardNetwork, CardFunding: r.CardFunding}
	w.st.RetryCount, w.st.RetryBase = r.PriorRetries, r.PriorRetries
	w.st.LastDecline = recovery.Decline{Class: recovery.Soft, Code: "restarted"}
	w.logger.Info("recovery restarted", "generation", w.in.Generation, "prior_retries", r.PriorRetries,
		"retry_now", r.RetryNow, "reason", r.Reason)
	if r.RetryNow {
		now := workflow.Now(ctx)
		w.st.NextRetryAt = &now
		w.setStatus(ctx, RecoveryScheduled)
		return
	}
	w.schedule(ctx)
}

// handleCardUpdate takes the customer's new payment method: the next retry
// uses it and, when the recovery waits on its timer, is due now. It reports
// whether the retry moved. A repeat of an update (same event id) changes nothing.
func (w *revenueRecovery) handleCardUpdate(ctx workflow.Context, u activities.PaymentMethodUpdate) bool {
	if w.seen("payment_method_updated:" + u.EventID) {
		return false
	}
	if isTerminal(w.st.Status) {
		w.logger.Info("card update after the recovery ended; no action", "status", w.st.Status, "event_id", u.EventID)
		return false
	}
	if u.PaymentMethodToken != "" {
		w.st.Intent.PaymentMethodToken = u.PaymentMethodToken
		w.st.Intent.CardNetwork, w.st.Intent.CardFunding = u.CardNetwork, u.CardFunding
	}
	w.logger.Info("customer updated their payment method", "event_id", u.EventID, "status", w.st.Status)
	if w.st.Status != RecoveryScheduled {
		return false // pending or awaiting an event: the new method is used at the next retry
	}
	now := workflow.Now(ctx)
	w.st.NextRetryAt = &now
	return true
}

// recordState writes where the recovery stands to the recoveries record when
// it changed: the customer index card updates search, and what a restart
// after Temporal's retention starts from. A failed write is logged: the
// recovery goes on (the record catches up at the next change).
func (w *revenueRecovery) recordState(ctx workflow.Context) {
	if w.version < 1 || w.st.Status == RecoveryAwaitingEvent {
		return
	}
	in := w.st.Intent
	snapshot := w.st.Status + "|" + in.ConnectorCustomerID + "|" + in.PaymentMethodToken
	if snapshot == w.recorded {
		return
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, recoveryRecordState), ra.RecordRecoveryState, activities.RecoveryStateRecord{
		WorkflowID: w.id, ProfileID: w.in.ProfileID, InvoiceID: w.in.InvoiceID, MerchantID: w.in.MerchantID,
		BillingConnectorID: w.in.BillingConnectorID, PaymentConnectorID: w.in.PaymentConnectorID,
		ConnectorCustomerID: in.ConnectorCustomerID, PaymentMethodToken: in.PaymentMethodToken, CardNetwork: in.CardNetwork,
		Amount: in.Amount, Currency: in.Currency, Status: w.st.Status, Open: !isTerminal(w.st.Status), Generation: w.in.Generation,
		RetryCount: w.st.RetryCount, StartedAt: w.st.StartedAt,
	}).Get(ctx, nil)
	if err != nil {
		w.logger.Warn("recovery record not written", "error", err)
		return
	}
	w.recorded = snapshot
}
