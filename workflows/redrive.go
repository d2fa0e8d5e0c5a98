package workflows

import (
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
)

const (
	redrivePrefix   = "redrive:"
	testEventPrefix = "test-event:"
)

// RedriveWorkflowID names a re-drive after its request id. A re-drive's ID is
// never reused: the same request id submitted again is a rejected duplicate.
func RedriveWorkflowID(requestID string) string { return redrivePrefix + requestID }

// TestEventWorkflowID names one test event.
func TestEventWorkflowID(testID string) string { return testEventPrefix + testID }

// RedriveStateQuery returns a Redrive's RedriveState.
const RedriveStateQuery = "redrive_state"

// Re-drive bounds.
const (
	// RedriveBatchSize is how many record ids one page read returns.
	RedriveBatchSize = 100
	// RedriveMaxRatePerSecond bounds a re-drive's rate: each send is paced by a durable timer.
	RedriveMaxRatePerSecond = 100
	// redrivePerRun is how many deliveries one run handles before it continues
	// as new with its cursor, keeping each history a few thousand events.
	redrivePerRun = 250
)

// RedriveInput is a re-drive: who asked, why, which deliveries, how fast; and,
// across continue-as-new, how far it got.
type RedriveInput struct {
	RedriveID     string                   `json:"redrive_id"`
	ActorKind     string                   `json:"actor_kind"` // api_key or cli
	ActorID       string                   `json:"actor_id"`   // the API key's fingerprint, or the CLI's operator
	Reason        string                   `json:"reason"`
	Force         bool                     `json:"force"`
	Filter        activities.RedriveFilter `json:"filter"`
	RatePerSecond float64                  `json:"rate_per_second"`
	RequestedAt   time.Time                `json:"requested_at"`
	// Cursor is the last record id handled; Totals count outcomes so far.
	Cursor string         `json:"cursor,omitempty"`
	Totals map[string]int `json:"totals,omitempty"`
	Opened bool           `json:"opened,omitempty"` // the audit record is written
}

// RedriveState is the answer of RedriveStateQuery, and a re-drive's result.
type RedriveState struct {
	Cursor string         `json:"cursor"`
	Totals map[string]int `json:"totals"`
	Done   bool           `json:"done"`
}

// Sent is how many deliveries a re-drive POSTed (whatever the answer).
func (s RedriveState) Sent() int {
	return s.Totals[activities.RedriveDelivered] + s.Totals[activities.RedriveRejected] + s.Totals[activities.RedriveFailed]
}

var (
	// redriveStore reads and writes the records and the audit; retried without limit.
	redriveStore = mongoActivity
	// redriveSend sends one delivery once; the receiver's answer is a result,
	// so only a lost worker or Mongo failure retries it (under the same key).
	redriveSend = workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	}
	// testEventSend tries a test event once: it answers an operator waiting for it.
	testEventSend = workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	}
)

// rd gives type-checked references to the re-drive activities.
var rd *activities.Redrive

// Redrive sends recorded deliveries again: it pages through the records its
// filter matches in id order, sends each once at the configured rate
// (a durable timer between sends), audits every outcome, and continues as
// new with its cursor every redrivePerRun deliveries, so a crash or a deploy
// resumes after the last delivery handled.
func Redrive(ctx workflow.Context, in RedriveInput) (RedriveState, error) {
	if in.RedriveID == "" || in.RatePerSecond <= 0 || in.Reason == "" {
		return RedriveState{}, temporal.NewNonRetryableApplicationError("a re-drive needs an id, a reason and a positive rate", "InvalidInput", nil)
	}
	if in.Totals == nil {
		in.Totals = map[string]int{}
	}
	st := &RedriveState{Cursor: in.Cursor, Totals: in.Totals}
	if err := workflow.SetQueryHandler(ctx, RedriveStateQuery, func() (RedriveState, error) { return *st, nil }); err != nil {
		return RedriveState{}, err
	}
	logger := log.With(workflow.GetLogger(ctx), "redrive_id", in.RedriveID)
	store := workflow.WithActivityOptions(ctx, redriveStore)
	if !in.Opened {
		if err := workflow.ExecuteActivity(store, rd.OpenRedriveAudit, activities.OpenRedriveAuditInput{
			RedriveID: in.RedriveID, ActorKind: in.ActorKind, ActorID: in.ActorID, Reason: in.Reason, Force: in.Force,
			Filter: in.Filter, RatePerSecond: in.RatePerSecond, RequestedAt: in.RequestedAt,
		}).Get(ctx, nil); err != nil {
			return RedriveState{}, err
		}
		in.Opened = true
	}
	pace := time.Duration(float64(time.Second) / in.RatePerSecond)
	handled, sentLast := 0, false
	for {
		var page []string
		if err := workflow.ExecuteActivity(store, rd.ListRedrivePage, activities.RedrivePageInput{
			Filter: in.Filter, After: st.Cursor, Limit: RedriveBatchSize,
		}).Get(ctx, &page); err != nil {
			return *st, err
		}
		if len(page) == 0 {
			break
		}
		for _, id := range page {
			if sentLast {
				if err := workflow.Sleep(ctx, pace); err != nil {
					return *st, err
				}
			}
			var res activities.RedriveDeliveryResult
			if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, redriveSend), rd.RedriveDelivery,
				activities.RedriveDeliveryInput{RedriveID: in.RedriveID, RecordID: id, Force: in.Force}).Get(ctx, &res); err != nil {
				return *st, err
			}
			st.Totals[res.Outcome]++
			st.Cursor = id
			sentLast = res.Outcome != activities.RedriveRefused && res.Outcome != activities.RedriveMissing
			handled++
		}
		if handled >= redrivePerRun {
			logger.Info("re-drive continues as new", "cursor", st.Cursor, "totals", st.Totals)
			in.Cursor, in.Totals = st.Cursor, st.Totals
			return *st, workflow.NewContinueAsNewError(ctx, Redrive, in)
		}
	}
	if err := workflow.ExecuteActivity(store, rd.CloseRedriveAudit, activities.CloseRedriveAuditInput{
		RedriveID: in.RedriveID, Totals: st.Totals,
	}).Get(ctx, nil); err != nil {
		return *st, err
	}
	st.Done = true
	logger.Info("re-drive done", "totals", st.Totals)
	return *st, nil
}

// TestEvent builds, and when asked sends, one test event for a CRM webhook
// or a merchant profile. It runs as a workflow so the worker, which holds
// the senders and tokens, does the work, and the UI shows who tested what.
func TestEvent(ctx workflow.Context, in activities.TestEventInput) (activities.TestEventResult, error) {
	var res activities.TestEventResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, testEventSend), rd.SendTestEvent, in).Get(ctx, &res)
	return res, err
}
