package activities

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"orderflow/delivery"
	"orderflow/store"
	"orderflow/tracking"
	"orderflow/webhook"
)

// memEndpoints is an in-memory EndpointStore following the store's rules.
type memEndpoints struct {
	mu sync.Mutex
	h  map[string]store.EndpointHealth
}

func (m *memEndpoints) get(kind, id string) store.EndpointHealth {
	if h, ok := m.h[store.EndpointKey(kind, id)]; ok {
		return h
	}
	return store.ClosedEndpoint(kind, id)
}

func (m *memEndpoints) EndpointHealthByID(_ context.Context, kind, id string) (store.EndpointHealth, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.h[store.EndpointKey(kind, id)]; !ok {
		return m.get(kind, id), store.ErrNotFound
	}
	return m.get(kind, id), nil
}

func (m *memEndpoints) RecordEndpointFailure(_ context.Context, f store.EndpointFailure) (store.EndpointHealth, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, tr := m.get(f.Kind, f.DestinationID), store.TransitionNone
	h.ConsecutiveFailures++
	if h.FailingSince.IsZero() {
		h.FailingSince = f.At
	}
	switch {
	case h.State != store.EndpointDisabled && f.At.Sub(h.FailingSince) >= f.DisableAfter:
		h.State, tr = store.EndpointDisabled, store.TransitionDisabled
	case h.State == store.EndpointClosed && h.ConsecutiveFailures >= f.Threshold:
		h.State, h.NextProbeAt, tr = store.EndpointOpen, f.At.Add(f.HalfOpen), store.TransitionOpened
	}
	m.h[h.ID] = h
	return h, tr, nil
}

func (m *memEndpoints) DisableEndpoint(_ context.Context, kind, id, reason string, at time.Time) (store.EndpointHealth, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.get(kind, id)
	if h.State == store.EndpointDisabled {
		return h, store.TransitionNone, nil
	}
	h.State, h.DisabledReason, h.DisabledAt = store.EndpointDisabled, reason, at
	m.h[h.ID] = h
	return h, store.TransitionDisabled, nil
}

func (m *memEndpoints) RecordEndpointSuccess(_ context.Context, kind, id string, _ time.Time) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, tr := m.get(kind, id), store.TransitionNone
	if h.State == store.EndpointOpen {
		h.State, h.Draining, tr = store.EndpointClosed, true, store.TransitionClosed
	}
	h.ConsecutiveFailures, h.FailingSince = 0, time.Time{}
	m.h[h.ID] = h
	return tr, nil
}

func (m *memEndpoints) ClaimEndpointProbe(_ context.Context, kind, id string, interval time.Duration, at time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.get(kind, id)
	if h.State != store.EndpointOpen || h.NextProbeAt.After(at) {
		return false, nil
	}
	h.NextProbeAt = at.Add(interval)
	m.h[h.ID] = h
	return true, nil
}

func (m *memEndpoints) FinishEndpointDrain(context.Context, string, string, time.Time) error {
	return nil
}

func (m *memEndpoints) ParkedDeliveries(context.Context, string, string, store.ParkedCursor, int64) ([]store.DeliveryRecord, error) {
	return nil, errors.New("not used")
}

// crmStore is the one CRM webhook the activity delivers to.
type crmStore struct{ url string }

func (c crmStore) ApplyObservations(context.Context, []tracking.Observation) (store.ApplyResult, error) {
	return store.ApplyResult{}, errors.New("not used")
}
func (c crmStore) ClaimFirstRTO(context.Context, store.RTOClaim) (store.OrderSnapshot, bool, error) {
	return store.OrderSnapshot{}, false, errors.New("not used")
}
func (c crmStore) MarketplaceName(context.Context, string) (string, error) { return "", nil }
func (c crmStore) WebhooksForEvent(context.Context, string, string) ([]store.WebhookTarget, error) {
	return nil, nil
}
func (c crmStore) DeliveryConfig(context.Context, string) (store.DeliveryConfig, error) {
	return store.DeliveryConfig{Webhook: store.Webhook{URL: c.url}, Payload: store.Payload{Mapping: webhook.Mapping{"order_id": "order_id"}}}, nil
}
func (c crmStore) RecordDeliveries(context.Context, []store.Delivery) error { return nil }

// breakerFixture is the CRM delivery activity with a breaker of threshold 3
// in front of an endpoint answering code (changeable), and the clock at now.
type breakerFixture struct {
	acts  *Activities
	ends  *memEndpoints
	code  atomic.Int32
	posts atomic.Int32
	now   time.Time
}

func newBreakerFixture(t *testing.T) *breakerFixture {
	f := &breakerFixture{ends: &memEndpoints{h: map[string]store.EndpointHealth{}}, now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		f.posts.Add(1)
		w.WriteHeader(int(f.code.Load()))
	}))
	t.Cleanup(srv.Close)
	settings := delivery.DefaultBreakerSettings()
	settings.FailureThreshold, settings.HalfOpenInterval = 3, time.Minute
	clock := func() time.Time { return f.now }
	f.acts = &Activities{Store: crmStore{url: srv.URL}, Webhooks: delivery.NewSender(delivery.Options{HTTPClient: srv.Client(), Timeout: 5 * time.Second}),
		Endpoints: &Endpoints{Store: f.ends, Settings: settings, Now: clock}}
	return f
}

// deliver runs DeliverWebhook once, as a parkable delivery.
func (f *breakerFixture) deliver(t *testing.T, order string) (DeliverResult, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(f.acts)
	v, err := env.ExecuteActivity(f.acts.DeliverWebhook, DeliverInput{WebhookID: "w1", Event: "order.rto", OrderID: order,
		IdempotencyKey: "k-" + order, Data: map[string]any{"order_id": order}, Parking: Parking{Parkable: true}})
	if err != nil {
		return DeliverResult{}, err
	}
	var res DeliverResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	return res, nil
}

func (f *breakerFixture) state() string { return f.ends.get(store.KindCRMWebhook, "w1").State }

// Each counted failure kind opens the endpoint at the threshold; the
// delivery that opens it parks instead of failing, and what follows parks
// without a POST.
func TestDeliveryOpensTheEndpointAfterThresholdFailures(t *testing.T) {
	for _, code := range []int{500, 503, 408, 429} {
		f := newBreakerFixture(t)
		f.code.Store(int32(code))
		for i := 1; i <= 2; i++ {
			if _, err := f.deliver(t, "o"); err == nil || f.state() != store.EndpointClosed {
				t.Fatalf("answer %d, failure %d: err %v, state %s; want a retryable error, closed", code, i, err, f.state())
			}
		}
		res, err := f.deliver(t, "o")
		if err != nil || !res.Parked || res.ParkReason != ParkOpen || f.state() != store.EndpointOpen {
			t.Fatalf("answer %d, third failure: %+v %v, state %s; want parked, open", code, res, err, f.state())
		}
		before := f.posts.Load()
		if res, err := f.deliver(t, "o2"); err != nil || !res.Parked || f.posts.Load() != before || res.AttemptsSpent != 0 {
			t.Fatalf("answer %d: a delivery to the open endpoint: %+v %v, %d new POSTs; want parked, no POST, no attempt spent", code, res, err, f.posts.Load()-before)
		}
	}
}

// 400 and 404 stay final for their delivery and never open the endpoint.
func TestDeliveryNeverOpensTheEndpointOn400Or404(t *testing.T) {
	f := newBreakerFixture(t)
	for i := range 10 {
		f.code.Store([]int32{400, 404}[i%2])
		res, err := f.deliver(t, "o")
		if err == nil || res.Parked {
			t.Fatalf("answer %d: %+v %v, want a final error", f.code.Load(), res, err)
		}
	}
	if f.state() != store.EndpointClosed || f.ends.get(store.KindCRMWebhook, "w1").ConsecutiveFailures != 0 {
		t.Fatalf("after ten 400s and 404s: %+v", f.ends.get(store.KindCRMWebhook, "w1"))
	}
}

// One probe per half-open interval; its 2xx closes the endpoint and sets it
// draining, so a delivery the drain has not released parks behind the
// others while one it released goes out.
func TestProbeClosesTheEndpointAndQueuesBehindTheDrain(t *testing.T) {
	f := newBreakerFixture(t)
	f.code.Store(503)
	for range 3 {
		_, _ = f.deliver(t, "o")
	}
	f.code.Store(200)
	f.now = f.now.Add(2 * time.Minute) // past the half-open interval
	res, err := f.deliver(t, "probe")
	if err != nil || res.Parked || f.state() != store.EndpointClosed {
		t.Fatalf("probe: %+v %v, state %s; want delivered, closed", res, err, f.state())
	}
	if res, _ := f.deliver(t, "waiting"); !res.Parked || res.ParkReason != ParkDraining ||
		res.RecheckIn != drainingRecheckFactor*f.acts.Endpoints.Settings.HalfOpenInterval {
		t.Fatalf("a delivery not released while draining: %+v, want parked behind the drain until signalled", res)
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(f.acts)
	if _, err := env.ExecuteActivity(f.acts.DeliverWebhook, DeliverInput{WebhookID: "w1", Event: "order.rto", OrderID: "released",
		IdempotencyKey: "k-released", Data: map[string]any{}, Parking: Parking{Parkable: true, Released: true}}); err != nil {
		t.Fatalf("a released delivery: %v, want delivered", err)
	}
}

// A 410 disables the endpoint at once and the delivery parks (never dropped).
func TestGoneDisablesAndParks(t *testing.T) {
	f := newBreakerFixture(t)
	f.code.Store(410)
	res, err := f.deliver(t, "o")
	if err != nil || !res.Parked || res.ParkReason != "disabled: answered 410 Gone" || f.state() != store.EndpointDisabled {
		t.Fatalf("410: %+v %v, state %s", res, err, f.state())
	}
}

// A parkable merchant webhook: the failures that open its profile's endpoint
// park the delivery (its record says parked); the next one parks without a
// POST and spends no attempt; once the drain releases it after a 2xx probe
// it is sent, its schedule going on from the attempts spent before.
func TestMerchantWebhookParksBehindItsProfilesOpenEndpoint(t *testing.T) {
	url, hits := merchantEndpoint(t, 503, 503, 503)
	m := &memRedrive{profiles: map[string]store.BusinessProfile{"prof1": {WebhookURL: url, PaymentResponseHashKey: "k"}},
		records: map[string]store.DeliveryRecord{}}
	ends := &memEndpoints{h: map[string]store.EndpointHealth{}}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	settings := delivery.DefaultBreakerSettings()
	settings.FailureThreshold, settings.HalfOpenInterval = 3, time.Minute
	r := &Recovery{Store: m, WebhookClient: delivery.NewSender(delivery.Options{Timeout: 2 * time.Second}), Records: &DeliveryRecords{Store: m},
		WebhookRetryDelays: []time.Duration{time.Second, time.Second, time.Second, time.Second, time.Second},
		Endpoints:          &Endpoints{Store: ends, Settings: settings, Now: func() time.Time { return now }}}
	deliver := func(event string, p Parking) (RecoveryWebhookResult, error) {
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestActivityEnvironment()
		env.RegisterActivity(r)
		v, err := env.ExecuteActivity(r.DeliverRecoveryWebhook, RecoveryWebhookInput{ProfileID: "prof1", InvoiceID: "inv1", WorkflowID: "wf-" + event,
			EventID: event, EventType: "payment_succeeded", Body: []byte(`{"event_id":"` + event + `"}`), Parking: p})
		if err != nil {
			return RecoveryWebhookResult{}, err
		}
		var res RecoveryWebhookResult
		if err := v.Get(&res); err != nil {
			t.Fatal(err)
		}
		return res, nil
	}
	state := func() string { return ends.get(store.KindMerchantWebhook, "prof1").State }
	for i := 1; i <= 2; i++ {
		if _, err := deliver("evt_1", Parking{Parkable: true}); err == nil || state() != store.EndpointClosed {
			t.Fatalf("failure %d: err %v, state %s; want a retryable error, closed", i, err, state())
		}
	}
	res, err := deliver("evt_1", Parking{Parkable: true})
	if err != nil || !res.Parked || res.ParkReason != ParkOpen || state() != store.EndpointOpen || m.records["evt_1"].Status != store.RecordParked {
		t.Fatalf("third failure: %+v %v, state %s, record %+v; want parked, open", res, err, state(), m.records["evt_1"])
	}
	before := len(hits())
	if res, err := deliver("evt_2", Parking{Parkable: true}); err != nil || !res.Parked || len(hits()) != before || res.AttemptsSpent != 0 {
		t.Fatalf("a webhook to the open endpoint: %+v %v, %d new POSTs; want parked, no POST, no attempt spent", res, err, len(hits())-before)
	}
	now = now.Add(2 * time.Minute) // past the half-open interval: evt_1 goes as the probe, and the merchant answers 2xx
	res, err = deliver("evt_1", Parking{Parkable: true, Resumed: true, AttemptsBefore: 1})
	if err != nil || res.Parked || res.Attempts != 2 || state() != store.EndpointClosed || m.records["evt_1"].Status != store.RecordDelivered {
		t.Fatalf("probe: %+v %v, state %s; want delivered on its second attempt, closed", res, err, state())
	}
	if res, _ := deliver("evt_2", Parking{Parkable: true, Resumed: true}); !res.Parked || res.ParkReason != ParkDraining {
		t.Fatalf("a webhook the drain has not released: %+v, want parked behind the drain", res)
	}
	if res, err := deliver("evt_2", Parking{Parkable: true, Resumed: true, Released: true}); err != nil || res.Parked {
		t.Fatalf("a released webhook: %+v %v, want delivered", res, err)
	}
	if got := hits(); len(got) != 5 || got[3].eventID != "evt_1" || got[4].eventID != "evt_2" {
		t.Errorf("merchant POSTs %+v: want three failures, then evt_1 and evt_2 once each", got)
	}
}
