package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"orderflow/observability"
	"orderflow/store"
	"orderflow/tracking"
	"orderflow/tracking/couriers"
)

// ErrTypeCourierRateLimited marks a courier's 403/429: the activity is retried
// after the courier's back-off (NextRetryDelay), never in a tight loop.
const ErrTypeCourierRateLimited = "CourierRateLimited"

// Errors no retry can fix: a sweep input naming an unknown tracker, a tracker whose courier has no base_url.
const (
	ErrTypeUnknownTracker       = "UnknownTracker"
	ErrTypeCourierNotConfigured = "CourierNotConfigured"
)

// SweepStore is what the tracking sweep needs of MongoDB; *store.Store implements it.
type SweepStore interface {
	NextPartition(ctx context.Context, scope store.SweepScope, after string, size int) (string, int, error)
	PartitionBatches(ctx context.Context, scope store.SweepScope, after string, size, batch int) ([]store.IDRange, int, error)
	BatchRanges(ctx context.Context, scope store.SweepScope, partition store.IDRange, batch int) ([]store.IDRange, error)
	OrdersToPoll(ctx context.Context, scope store.SweepScope, r store.IDRange, limit int) ([]store.PollTarget, error)
	ApplyPoll(ctx context.Context, obs []tracking.Observation, marks []store.PollMark, now time.Time) (store.ApplyResult, error)
	UnplannedOrders(ctx context.Context, scope store.SweepScope, limit int) ([]store.PollTarget, error)
	RecordFirstPlans(ctx context.Context, plans []store.FirstPlan) (int64, error)
}

// SweepActivities are the tracking sweep's activities and their dependencies.
type SweepActivities struct {
	Store SweepStore
	// Couriers are the configured courier APIs' pollers; an API missing from
	// it is a courier not configured.
	Couriers *couriers.Registry
	Metrics  *observability.Metrics
	Now      func() time.Time
	// Polling is adaptive polling's policy and budgets; nil polls uniformly.
	Polling *AdaptivePolling
	// Returns and ReturnWindow poll customer return shipments' own AWBs
	// (PollReturns); nil or a zero window polls none.
	Returns      ReturnStore
	ReturnWindow time.Duration

	unknownSeen sync.Map // api + raw status: logged once per process
}

func (a *SweepActivities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func scopeOf(tr tracking.Tracker) store.SweepScope {
	return store.SweepScope{CourierNames: tr.CourierNames, NoDataOnly: tr.Fallback}
}

func tracker(name string) (tracking.Tracker, error) {
	tr, ok := tracking.TrackerByName(name)
	if !ok {
		return tr, temporal.NewNonRetryableApplicationError("unknown tracker "+name, ErrTypeUnknownTracker, nil)
	}
	return tr, nil
}

// IDRange is the orders with after < _id <= last ("" after: from the start).
type IDRange struct {
	After string `json:"after,omitempty"`
	Last  string `json:"last"`
}

func idRanges(rs []store.IDRange) []IDRange {
	var out []IDRange
	for _, r := range rs {
		out = append(out, IDRange(r))
	}
	return out
}

// NextPartitionInput asks for the partition after a cursor.
type NextPartitionInput struct {
	Tracker string `json:"tracker"`
	After   string `json:"after,omitempty"`
	Size    int    `json:"size"`
	// BatchSize, when set, also cuts the partition into poll batches (Batches),
	// from the same read: no PlanBatches step.
	BatchSize int `json:"batch_size,omitempty"`
}

// NextPartitionResult bounds the partition: (After, Last], Count orders; Count 0 when none is left.
type NextPartitionResult struct {
	Last    string    `json:"last,omitempty"`
	Count   int       `json:"count"`
	Batches []IDRange `json:"batches,omitempty"`
}

// NextPartition finds the next partition of a tracker's active orders (and,
// given a batch size, its poll batches) in one Mongo read. In adaptive
// polling the sweep's first read first plans the orders never planned
// (planUnplanned).
func (a *SweepActivities) NextPartition(ctx context.Context, in NextPartitionInput) (NextPartitionResult, error) {
	tr, err := tracker(in.Tracker)
	if err != nil {
		return NextPartitionResult{}, err
	}
	if in.After == "" {
		if err := a.planUnplanned(ctx, tr); err != nil {
			return NextPartitionResult{}, err
		}
	}
	if in.BatchSize <= 0 {
		last, n, err := a.Store.NextPartition(ctx, a.scope(tr), in.After, in.Size)
		return NextPartitionResult{Last: last, Count: n}, err
	}
	batches, n, err := a.Store.PartitionBatches(ctx, a.scope(tr), in.After, in.Size, in.BatchSize)
	if err != nil || n == 0 {
		return NextPartitionResult{}, err
	}
	return NextPartitionResult{Last: batches[len(batches)-1].Last, Count: n, Batches: idRanges(batches)}, nil
}

// PlanBatchesInput asks to cut a partition into poll batches.
type PlanBatchesInput struct {
	Tracker   string  `json:"tracker"`
	Partition IDRange `json:"partition"`
	BatchSize int     `json:"batch_size"`
}

// PlanBatchesResult lists the batches' id ranges (a partition's worth, never all orders).
type PlanBatchesResult struct {
	Batches []IDRange `json:"batches"`
}

// PlanBatches cuts a partition into id ranges of at most BatchSize orders.
func (a *SweepActivities) PlanBatches(ctx context.Context, in PlanBatchesInput) (PlanBatchesResult, error) {
	tr, err := tracker(in.Tracker)
	if err != nil {
		return PlanBatchesResult{}, err
	}
	b, err := a.Store.BatchRanges(ctx, a.scope(tr), store.IDRange(in.Partition), in.BatchSize)
	return PlanBatchesResult{Batches: idRanges(b)}, err
}

// PollBatchInput is one batch: the tracker's active orders in Range, at most BatchSize.
type PollBatchInput struct {
	Tracker   string  `json:"tracker"`
	Range     IDRange `json:"range"`
	BatchSize int     `json:"batch_size"`
}

// PollBatchResult says what one batch's poll saw and changed.
type PollBatchResult struct {
	Polled          int            `json:"polled"`
	Found           int            `json:"found"`
	NoData          int            `json:"no_data"`
	Unknown         int            `json:"unknown"`
	CustomerReturns int            `json:"customer_returns"`
	Changed         int            `json:"changed"` // orders whose status or first-seen time the poll moved
	Calls           int            `json:"calls"`
	API             string         `json:"api"`
	RTOCandidates   []RTOCandidate `json:"rto_candidates,omitempty"`
}

// PollBatch calls the tracker's courier for one batch (as few calls as the
// API's maximum allows), maps the statuses, and applies only what changed,
// with the poll marks, in one bulk write through the status-update path: one
// Mongo read and at most one write per batch. RTO-family observations on
// unclaimed orders come back as candidates: the workflow starts RTOCancel for
// them with the same helper as every other source, so first-RTO stays one
// mechanism. A 403/429 becomes a retry after the courier's back-off.
func (a *SweepActivities) PollBatch(ctx context.Context, in PollBatchInput) (PollBatchResult, error) {
	defer keepHeartbeating(ctx, PollHeartbeatInterval)()
	tr, err := tracker(in.Tracker)
	if err != nil {
		return PollBatchResult{}, err
	}
	targets, err := a.Store.OrdersToPoll(ctx, a.scope(tr), store.IDRange(in.Range), in.BatchSize)
	if err != nil {
		return PollBatchResult{}, err
	}
	res := PollBatchResult{Polled: len(targets), API: tr.API}
	if len(targets) == 0 {
		return res, nil
	}
	awbs := make([]string, len(targets))
	for i, t := range targets {
		awbs[i] = t.AWB
	}
	shipments, calls, err := a.track(ctx, tr.API, awbs)
	res.Calls = calls
	if err != nil {
		return res, a.courierError(tr.API, err)
	}
	byAWB := make(map[string]couriers.Shipment, len(shipments))
	for _, s := range shipments {
		byAWB[s.AWB] = s
	}
	now := a.now()
	var obs []tracking.Observation
	var marks []store.PollMark
	for _, t := range targets {
		o, mark, outcome := a.read(ctx, tr, t, byAWB[t.AWB], now)
		switch outcome {
		case outcomeNoData:
			res.NoData++
		case outcomeUnknown:
			res.Unknown++
		case outcomeCustomerReturn:
			res.CustomerReturns++
		}
		if outcome != outcomeNoData {
			res.Found++
		}
		if plan := a.plan(t, o, now); plan != nil {
			if mark == nil {
				mark = &store.PollMark{OrderID: t.OrderID}
			}
			mark.Plan = plan
		}
		if mark != nil {
			marks = append(marks, *mark)
		}
		if o != nil {
			obs = append(obs, *o)
		}
	}
	applied, err := a.Store.ApplyPoll(ctx, obs, marks, now)
	if err != nil {
		return res, err
	}
	res.Changed, res.RTOCandidates = len(obs), rtoCandidates(applied.RTOCandidates)
	a.count(tr, res)
	return res, nil
}

type outcome int

const (
	outcomeMapped outcome = iota
	outcomeNoData
	outcomeUnknown
	outcomeCustomerReturn
)

// read turns one order's shipment into an observation (nil when nothing
// changes) and a poll mark (nil when nothing to write).
func (a *SweepActivities) read(ctx context.Context, tr tracking.Tracker, t store.PollTarget, s couriers.Shipment, now time.Time) (*tracking.Observation, *store.PollMark, outcome) {
	if !s.Found {
		if !tr.Fallback && !t.NoData {
			return nil, &store.PollMark{OrderID: t.OrderID, NoData: true}, outcomeNoData
		}
		return nil, nil, outcomeNoData
	}
	mark := store.PollMark{OrderID: t.OrderID, ClearNoData: !tr.Fallback && t.NoData}
	if raw := tr.API + ":" + s.Raw; raw != t.RawStatus {
		mark.Raw = raw
	}
	var m *store.PollMark
	if mark.Raw != "" || mark.ClearNoData {
		m = &mark
	}
	out := outcomeMapped
	switch s.Mapping.Kind {
	case couriers.Unknown:
		a.unknownStatus(ctx, tr.API, s.Raw)
		return nil, m, outcomeUnknown
	case couriers.CustomerReturn:
		out = outcomeCustomerReturn
	}
	if s.Mapping.Status == "" {
		return nil, m, out
	}
	at := s.EventTime
	if at.IsZero() {
		at = now // the courier gave no usable time: the poll's own
	}
	o := tracking.Observation{OrderID: t.OrderID, Source: tr.Name, Status: s.Mapping.Status, EventTime: at}
	if unchanged(t, o) {
		return nil, m, out
	}
	return &o, m, out
}

// unchanged reports whether applying o would write nothing: the order holds
// the status (or a newer one) and already has o's first-seen time or an
// earlier one. An RTO-family status on an unclaimed order is never skipped, so
// a first RTO whose RTOCancel was not started (a crash in between) is retried.
func unchanged(t store.PollTarget, o tracking.Observation) bool {
	if tracking.IsRTO(o.Status) && !t.Claimed {
		return false
	}
	first, seen := t.FirstSeen[timestampKey(o.Status)]
	if !seen || first.After(o.EventTime) {
		return false
	}
	return t.TrackingStatus == o.Status || !o.EventTime.After(t.StatusAt)
}

func timestampKey(status string) string {
	return tracking.TimestampField(status)[len("tracking_timestamps."):]
}

// track asks the API's poller about the AWBs in as few calls as its maximum
// per call allows.
func (a *SweepActivities) track(ctx context.Context, api string, awbs []string) ([]couriers.Shipment, int, error) {
	p, ok := a.Couriers.Poller(api)
	if !ok {
		return nil, 0, temporal.NewNonRetryableApplicationError("courier "+api+" is not configured", ErrTypeCourierNotConfigured, nil)
	}
	var out []couriers.Shipment
	calls := 0
	for _, b := range couriers.Batches(len(awbs), p.MaxPerCall()) {
		calls++
		got, err := p.Track(ctx, awbs[b[0]:b[1]])
		a.countCall(api, err)
		if err != nil {
			return out, calls, err
		}
		out = append(out, got...)
	}
	return out, calls, nil
}

// courierError turns a courier's rate-limit answer into a retry after its back-off.
func (a *SweepActivities) courierError(api string, err error) error {
	var rl *couriers.RateLimitedError
	if errors.As(err, &rl) {
		return temporal.NewApplicationErrorWithOptions(rl.Error(), ErrTypeCourierRateLimited,
			temporal.ApplicationErrorOptions{NextRetryDelay: rl.Wait})
	}
	return fmt.Errorf("%s: %w", api, err)
}

func (a *SweepActivities) unknownStatus(ctx context.Context, api, raw string) {
	if a.Metrics != nil {
		a.Metrics.CourierUnknownStatuses.WithLabelValues(api).Inc()
	}
	if _, seen := a.unknownSeen.LoadOrStore(api+"\x00"+raw, true); !seen {
		activity.GetLogger(ctx).Warn("unknown courier status kept raw, not mapped", "courier", api, "raw_status", raw)
	}
}

func (a *SweepActivities) countCall(api string, err error) {
	if a.Metrics == nil {
		return
	}
	var rl *couriers.RateLimitedError
	switch {
	case err == nil:
		a.Metrics.CourierCalls.WithLabelValues(api, "ok").Inc()
	case errors.As(err, &rl):
		a.Metrics.CourierCalls.WithLabelValues(api, "rate_limited").Inc()
		a.Metrics.CourierRateLimited.WithLabelValues(api, fmt.Sprint(rl.StatusCode)).Inc()
	default:
		a.Metrics.CourierCalls.WithLabelValues(api, "error").Inc()
	}
}

func (a *SweepActivities) count(tr tracking.Tracker, r PollBatchResult) {
	if a.Metrics == nil {
		return
	}
	for outcome, n := range map[string]int{"polled": r.Polled, "changed": r.Changed, "no_data": r.NoData,
		"unknown": r.Unknown, "customer_return": r.CustomerReturns} {
		a.Metrics.SweepOrders.WithLabelValues(tr.Name, outcome).Add(float64(n))
	}
}
