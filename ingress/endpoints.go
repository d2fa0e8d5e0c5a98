package ingress

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"orderflow/activities"
	"orderflow/delivery"
	"orderflow/observability"
	"orderflow/store"
)

// EndpointState is a destination's circuit breaker as the API shows it:
// its ids and state (closed, open, half_open, disabled), never its URL, and
// how many of its deliveries are parked.
type EndpointState struct {
	store.EndpointHealth
	// State is the breaker state, with half_open for an open endpoint whose probe is due or out.
	State  string `json:"state"`
	Parked int64  `json:"parked"`
}

// EnableRequest re-enables an endpoint; its parked deliveries drain at
// DrainRatePerSecond (nil: the configured delivery.breaker.drain_rate_per_second).
type EnableRequest struct {
	Reason             string   `json:"reason,omitempty"`
	DrainRatePerSecond *float64 `json:"drain_rate_per_second,omitempty"`
}

// EndpointError is a request the endpoint API refuses, with its HTTP status
// and the field at fault.
type EndpointError struct {
	Code  int
	Field string
	Msg   string
}

func (e *EndpointError) Error() string { return e.Msg }

// endpointKinds maps the API's kinds to the store's.
var endpointKinds = map[string]string{store.KindCRMWebhook: store.KindCRMWebhook, store.KindMerchantWebhook: store.KindMerchantWebhook}

// endpointExists answers 404 for an unknown kind, webhook or profile.
func endpointExists(ctx context.Context, st *store.Store, kind, id string) error {
	var err error
	switch kind {
	case store.KindCRMWebhook:
		_, err = st.Webhooks().Get(ctx, id)
	case store.KindMerchantWebhook:
		_, err = st.Profiles().Get(ctx, id)
	default:
		return &EndpointError{Code: http.StatusNotFound, Field: "kind", Msg: "unknown endpoint kind " + kind + " (crm_webhook or merchant_webhook)"}
	}
	if errors.Is(err, store.ErrNotFound) {
		return &EndpointError{Code: http.StatusNotFound, Field: "id", Msg: "no " + kind + " " + id}
	}
	return err
}

// LoadEndpoint returns a destination's breaker state and its parked count.
func LoadEndpoint(ctx context.Context, st *store.Store, kind, id string, now time.Time) (EndpointState, error) {
	if err := endpointExists(ctx, st, kind, id); err != nil {
		return EndpointState{}, err
	}
	h, err := st.EndpointHealthByID(ctx, kind, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return EndpointState{}, err
	}
	n, err := st.CountDeliveryRecords(ctx, store.RecordFilter{Kind: kind, DestinationID: id, Statuses: []string{store.RecordParked}})
	if err != nil {
		return EndpointState{}, err
	}
	return EndpointState{EndpointHealth: h, State: h.BreakerState(now), Parked: n.Matched}, nil
}

// EnableEndpoint re-enables (or closes) a destination and starts the drain
// that releases its parked deliveries oldest first at rate. A rate of zero
// or below is a 400 naming drain_rate_per_second; an unknown id a 404.
func EnableEndpoint(ctx context.Context, st *store.Store, tc client.Client, taskQueue, kind, id string, rate float64, now time.Time) (EndpointState, error) {
	if rate <= 0 {
		return EndpointState{}, &EndpointError{Code: http.StatusBadRequest, Field: "drain_rate_per_second", Msg: "drain_rate_per_second must be greater than 0"}
	}
	if err := endpointExists(ctx, st, kind, id); err != nil {
		return EndpointState{}, err
	}
	if _, err := st.EnableEndpoint(ctx, kind, id, now.UTC()); err != nil && !errors.Is(err, store.ErrNotFound) {
		return EndpointState{}, err
	} else if err == nil {
		cctx, cancel := context.WithTimeout(ctx, temporalCallTimeout)
		defer cancel()
		if err := activities.StartEndpointDrain(cctx, tc, taskQueue, activities.EndpointDrainInput{Kind: kind, DestinationID: id, RatePerSecond: rate}); err != nil {
			return EndpointState{}, errDrainNotStarted{err}
		}
	}
	return LoadEndpoint(ctx, st, kind, id, now)
}

// errDrainNotStarted: the endpoint is enabled, but its drain could not be
// started; asking again starts it (parked deliveries also start it when
// they next look).
type errDrainNotStarted struct{ err error }

func (e errDrainNotStarted) Error() string { return "starting the drain: " + e.err.Error() }

// breakerSamples reads every destination's breaker for the state metric.
func (d Deps) breakerSamples(ctx context.Context) ([]observability.BreakerSample, error) {
	hs, err := d.Store.EndpointHealths(ctx)
	if err != nil {
		return nil, err
	}
	now := d.Now()
	out := make([]observability.BreakerSample, len(hs))
	for i, h := range hs {
		out[i] = observability.BreakerSample{Kind: h.Kind, DestinationID: h.DestinationID, State: h.BreakerState(now)}
	}
	return out, nil
}

// mountEndpointsAPI mounts the circuit breaker's routes, and exports every
// destination's breaker state on the starter's /metrics.
func mountEndpointsAPI(mux *http.ServeMux, d Deps) {
	if d.Metrics != nil && d.Store != nil {
		d.Metrics.RegisterBreakerStates(d.breakerSamples, delivery.BreakerStates)
	}
	mux.HandleFunc("GET /v1/endpoints/{kind}/{id}", d.endpoint)
	mux.HandleFunc("POST /v1/endpoints/{kind}/{id}/enable", jsonBody(d.enableEndpoint))
}

func (d Deps) endpoint(w http.ResponseWriter, r *http.Request) {
	kind := endpointKinds[r.PathValue("kind")]
	if kind == "" {
		kind = r.PathValue("kind")
	}
	st, err := LoadEndpoint(r.Context(), d.Store, kind, r.PathValue("id"), d.Now())
	if !d.endpointOK(w, err) {
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (d Deps) enableEndpoint(w http.ResponseWriter, r *http.Request) {
	var req EnableRequest
	if err := decodeJSON(w, r, d.MaxBodyBytes, &req); err != nil {
		writeDecodeError(w, err)
		return
	}
	rate := d.Breaker.DrainRatePerSecond
	if rate <= 0 {
		rate = delivery.DefaultBreakerSettings().DrainRatePerSecond
	}
	if req.DrainRatePerSecond != nil {
		rate = *req.DrainRatePerSecond
	}
	kind, id := r.PathValue("kind"), r.PathValue("id")
	st, err := EnableEndpoint(r.Context(), d.Store, d.Temporal, d.TaskQueue, kind, id, rate, d.Now())
	var notStarted errDrainNotStarted
	if errors.As(err, &notStarted) {
		d.writeUnavailable(w, "an endpoint drain", activities.EndpointDrainWorkflowID(kind, id), notStarted.err)
		return
	}
	if !d.endpointOK(w, err) {
		return
	}
	d.Logger.Info("endpoint enabled by API", zap.String("kind", kind), zap.String("destination_id", id),
		zap.String("actor", APIKeyFingerprint(d.APIKey)), zap.String("reason", req.Reason))
	writeJSON(w, http.StatusOK, st)
}

func (d Deps) endpointOK(w http.ResponseWriter, err error) bool {
	var ee *EndpointError
	if errors.As(err, &ee) {
		writeError(w, ee.Code, ee.Msg, ee.Field)
		return false
	}
	return d.storeOK(w, err, "endpoint_health")
}
