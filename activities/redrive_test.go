package activities

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"orderflow/delivery"
	"orderflow/store"
)

// memRedrive is an in-memory store for the merchant re-drive path: profiles,
// delivery records, attempt rows and audit outcomes. The rest of
// RecoveryStore is left nil: the re-drive path must not call it, and a call
// would fail the test with a nil dereference.
type memRedrive struct {
	RecoveryStore
	mu       sync.Mutex
	profiles map[string]store.BusinessProfile
	records  map[string]store.DeliveryRecord
	writes   []store.RecordWrite
	attempts []store.RecoveryWebhookDelivery
	outcomes []store.RedriveOutcome
}

func (m *memRedrive) Profile(_ context.Context, id string) (store.BusinessProfile, error) {
	p, ok := m.profiles[id]
	if !ok {
		return p, store.ErrNotFound
	}
	return p, nil
}
func (m *memRedrive) ConnectorAccount(context.Context, string) (store.ConnectorAccount, error) {
	return store.ConnectorAccount{}, store.ErrNotFound
}
func (m *memRedrive) RecordRecoveryAttempt(context.Context, store.RecoveryAttempt) error { return nil }
func (m *memRedrive) RecordRecoveryWebhookDelivery(_ context.Context, d store.RecoveryWebhookDelivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.attempts = append(m.attempts, d)
	return nil
}

// WriteDeliveryRecord applies the parts of a write a re-drive relies on.
func (m *memRedrive) WriteDeliveryRecord(_ context.Context, w store.RecordWrite) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes = append(m.writes, w)
	r := m.records[w.Record.ID]
	if w.Status != "" {
		r.Status = w.Status
	}
	if w.RedriveID != "" {
		r.LastRedriveID = w.RedriveID
	}
	r.Attempts += w.Attempts
	r.LastStatusCode = w.LastCode
	m.records[w.Record.ID] = r
	return nil
}
func (m *memRedrive) DeliveryRecord(_ context.Context, id string) (store.DeliveryRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[id]
	if !ok {
		return r, store.ErrNotFound
	}
	return r, nil
}
func (m *memRedrive) DeliveryRecordPage(context.Context, store.RecordFilter, string, int64) ([]string, error) {
	return nil, nil
}
func (m *memRedrive) OpenRedriveAudit(context.Context, store.RedriveAudit) error { return nil }
func (m *memRedrive) RecordRedriveOutcome(_ context.Context, o store.RedriveOutcome) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.outcomes = append(m.outcomes, o)
	return nil
}
func (m *memRedrive) CloseRedriveAudit(context.Context, string, map[string]int, time.Time) error {
	return nil
}

type merchantHit struct {
	eventID, signature string
	body               string
}

// merchantEndpoint answers codes in turn (then 200) and keeps every POST.
func merchantEndpoint(t *testing.T, codes ...int) (string, func() []merchantHit) {
	var mu sync.Mutex
	var hits []merchantHit
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		code := http.StatusOK
		if len(hits) < len(codes) {
			code = codes[len(hits)]
		}
		hits = append(hits, merchantHit{eventID: r.Header.Get("webhook-id"), signature: r.Header.Get(delivery.HeaderSignature512), body: string(body)})
		mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []merchantHit {
		mu.Lock()
		defer mu.Unlock()
		return append([]merchantHit(nil), hits...)
	}
}

func merchantRedrive(m *memRedrive) *Redrive {
	records := &DeliveryRecords{Store: m}
	rec := &Recovery{Store: m, WebhookClient: delivery.NewSender(delivery.Options{Timeout: 2 * time.Second}), Records: records}
	return &Redrive{Store: m, Merchant: rec, Records: records}
}

// An exhausted merchant webhook is re-driven with its original body and
// event id, through the profile's current URL and key; its record becomes
// delivered; a second re-drive is refused unless forced.
func TestMerchantRedriveSendsTheOriginalEventThroughTheCurrentEndpoint(t *testing.T) {
	url, hits := merchantEndpoint(t)
	body := `{"event_id":"evt_1","event_type":"payment_succeeded"}`
	m := &memRedrive{
		profiles: map[string]store.BusinessProfile{"prof1": {WebhookURL: url, PaymentResponseHashKey: "new-key"}},
		records: map[string]store.DeliveryRecord{"evt_1": {ID: "evt_1", Kind: store.KindMerchantWebhook, DestinationID: "prof1",
			Event: "payment_succeeded", InvoiceID: "inv1", EventID: "evt_1", Body: []byte(body), Status: store.RecordExhausted}},
	}
	r := merchantRedrive(m)
	ctx := context.Background()

	res, err := r.RedriveDelivery(ctx, RedriveDeliveryInput{RedriveID: "redrive:a", RecordID: "evt_1"})
	if err != nil || res.Outcome != RedriveDelivered || res.StatusCode != 200 {
		t.Fatalf("re-drive: %+v, %v", res, err)
	}
	got := hits()
	if len(got) != 1 || got[0].eventID != "evt_1" || got[0].body != body || !delivery.VerifySHA512Hex("new-key", []byte(body), got[0].signature) {
		t.Fatalf("the endpoint got %+v", got)
	}
	if rec := m.records["evt_1"]; rec.Status != store.RecordDelivered || rec.LastRedriveID != "redrive:a" || rec.Attempts != 1 {
		t.Errorf("record %+v", rec)
	}
	if len(m.attempts) != 1 || m.attempts[0].WorkflowID != "redrive:a" || !m.attempts[0].OK {
		t.Errorf("attempt rows %+v", m.attempts)
	}

	res, err = r.RedriveDelivery(ctx, RedriveDeliveryInput{RedriveID: "redrive:b", RecordID: "evt_1"})
	if err != nil || res.Outcome != RedriveRefused || len(hits()) != 1 {
		t.Errorf("unforced re-drive of a delivered event: %+v, %v, %d POSTs", res, err, len(hits()))
	}
	res, err = r.RedriveDelivery(ctx, RedriveDeliveryInput{RedriveID: "redrive:c", RecordID: "evt_1", Force: true})
	if err != nil || res.Outcome != RedriveDelivered || len(hits()) != 2 {
		t.Errorf("forced re-drive: %+v, %v, %d POSTs", res, err, len(hits()))
	}
	want := []string{RedriveDelivered, RedriveRefused, RedriveDelivered}
	if len(m.outcomes) != len(want) {
		t.Fatalf("outcomes %+v", m.outcomes)
	}
	for i, o := range m.outcomes {
		if o.Outcome != want[i] || o.RecordID != "evt_1" {
			t.Errorf("outcome %d: %+v, want %s", i, o, want[i])
		}
	}
}

// A merchant endpoint still failing leaves the record's status as it was and
// audits a failure; a retried activity after a successful send does not
// report a refusal.
func TestMerchantRedriveFailureAndRetryAfterSuccess(t *testing.T) {
	url, hits := merchantEndpoint(t, http.StatusServiceUnavailable)
	m := &memRedrive{
		profiles: map[string]store.BusinessProfile{"prof1": {WebhookURL: url}},
		records: map[string]store.DeliveryRecord{"evt_2": {ID: "evt_2", Kind: store.KindMerchantWebhook, DestinationID: "prof1",
			EventID: "evt_2", Body: []byte(`{}`), Status: store.RecordExhausted}},
	}
	r := merchantRedrive(m)
	res, err := r.RedriveDelivery(context.Background(), RedriveDeliveryInput{RedriveID: "redrive:a", RecordID: "evt_2"})
	if err != nil || res.Outcome != RedriveFailed || res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("re-drive against a 503: %+v, %v", res, err)
	}
	if st := m.records["evt_2"].Status; st != store.RecordExhausted {
		t.Errorf("record status %s after a failed re-drive, want it unchanged", st)
	}
	if _, err := r.RedriveDelivery(context.Background(), RedriveDeliveryInput{RedriveID: "redrive:b", RecordID: "evt_2"}); err != nil {
		t.Fatal(err)
	}
	res, err = r.RedriveDelivery(context.Background(), RedriveDeliveryInput{RedriveID: "redrive:b", RecordID: "evt_2"})
	if err != nil || res.Outcome != RedriveDelivered || len(hits()) != 2 {
		t.Errorf("the same re-drive's retry after its 2xx: %+v, %v, %d POSTs", res, err, len(hits()))
	}
	if res, _ := r.RedriveDelivery(context.Background(), RedriveDeliveryInput{RedriveID: "redrive:c", RecordID: "nope"}); res.Outcome != RedriveMissing {
		t.Errorf("an expired record: %+v", res)
	}
}
