package activities

import (
	"context"

	"orderflow/store"
	"orderflow/tracking"
)

// ApplyStatusInput is a batch of observations from one source.
type ApplyStatusInput struct {
	Observations []tracking.Observation `json:"observations"`
}

// ApplyStatusResult says what changed and which orders may be having their first RTO.
type ApplyStatusResult struct {
	Modified      int64          `json:"modified"`
	RTOCandidates []RTOCandidate `json:"rto_candidates"`
}

// RTOCandidate is an order that may be having its first RTO: the workflow
// starts its RTOCancel, whose claim decides who is first.
type RTOCandidate struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
	Source  string `json:"source"`
	AWB     string `json:"awb"`
	Courier string `json:"courier"`
}

func rtoCandidates(cs []store.RTOCandidate) []RTOCandidate {
	var out []RTOCandidate
	for _, c := range cs {
		out = append(out, RTOCandidate(c))
	}
	return out
}

// ApplyStatusObservations runs the status-update path: newer statuses and
// first-seen timestamps are written in bulk; RTO-family observations on
// unclaimed orders come back as candidates for RTOCancel. In adaptive polling
// it then marks each reported order's next poll (markPushed). It is
// idempotent, so a retry after a crash returns the same candidates.
func (a *Activities) ApplyStatusObservations(ctx context.Context, in ApplyStatusInput) (ApplyStatusResult, error) {
	res, err := a.Store.ApplyObservations(ctx, in.Observations)
	if err != nil {
		return ApplyStatusResult{}, err
	}
	if err := a.markPushed(ctx, in.Observations); err != nil {
		return ApplyStatusResult{}, err
	}
	if a.Metrics != nil && len(in.Observations) > 0 {
		src := in.Observations[0].Source
		a.Metrics.StatusObservations.WithLabelValues(src, "applied").Add(float64(len(in.Observations)))
		a.Metrics.StatusObservations.WithLabelValues(src, "modified").Add(float64(res.Modified))
	}
	return ApplyStatusResult{Modified: res.Modified, RTOCandidates: rtoCandidates(res.RTOCandidates)}, nil
}
