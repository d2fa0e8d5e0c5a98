package workflows

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.temporal.io/sdk/testsuite"

	"orderflow/activities"
	"orderflow/delivery"
	"orderflow/dev/sandbox/crm"
	"orderflow/store"
	"orderflow/tracking"
	"orderflow/webhook"
)

// memStore is an in-memory activities.Store holding the RTO webhook's configuration.
type memStore struct {
	mu              sync.Mutex
	claimedBy       string
	marketplaceErr  error
	marketplaceHits int
	webhooks        []store.WebhookTarget
	configs         map[string]store.DeliveryConfig
	deliveries      []store.Delivery
}

func (m *memStore) ApplyObservations(context.Context, []tracking.Observation) (store.ApplyResult, error) {
	return store.ApplyResult{}, errors.New("not used")
}

func (m *memStore) ClaimFirstRTO(_ context.Context, c store.RTOClaim) (store.OrderSnapshot, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.claimedBy != "" && m.claimedBy != c.ChainID {
		return store.OrderSnapshot{}, false, nil
	}
	m.claimedBy = c.ChainID
	return store.OrderSnapshot{
		OrderID: c.OrderID, MarketplaceID: "mp1", Customer: map[string]any{"phone": "9876500001"}, TotalAmt: 1499.0,
	}, true, nil
}

func (m *memStore) MarketplaceName(context.Context, string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.marketplaceHits++
	return "Shopify", m.marketplaceErr
}

func (m *memStore) WebhooksForEvent(context.Context, string, string) ([]store.WebhookTarget, error) {
	return m.webhooks, nil
}

func (m *memStore) DeliveryConfig(_ context.Context, id string) (store.DeliveryConfig, error) {
	cfg, ok := m.configs[id]
	if !ok {
		return cfg, store.ErrNotFound
	}
	return cfg, nil
}

func (m *memStore) RecordDeliveries(_ context.Context, ds []store.Delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deliveries = append(m.deliveries, ds...)
	return nil
}

// rtoWebhookConfig returns the RTO webhook's five configuration steps pointing at the sandbox CRM at base.
func rtoWebhookConfig(base string) *memStore {
	hookID, authID := bson.NewObjectID(), bson.NewObjectID()
	hook := store.Webhook{ID: hookID, URL: base + crm.CancelPath, ModuleName: ModuleOrder, Events: []string{EventOrderRTO}, AuthID: authID.Hex()}
	return &memStore{
		webhooks: []store.WebhookTarget{{Webhook: hook, Conditions: []webhook.Condition{
			{Field: "tracking_status", Operator: webhook.OpIn, Value: "rto,rto in transit", Group: 1},
		}}},
		configs: map[string]store.DeliveryConfig{hookID.Hex(): {
			Webhook: hook,
			Payload: store.Payload{Mapping: webhook.Mapping{
				"phone_number": "customer.phone", "order_id": "order_id", "order_source": "source",
				"order_value": "total_amt", "status": "status",
			}},
			Auth: &store.Auth{ID: authID, AuthURL: base + crm.TokenPath, ResponseTokenPath: "access_token",
				AuthPayload: map[string]any{"client_id": "orderflow", "client_secret": "s3cret", "grant_type": "client_credentials"}},
		}},
	}
}

type rtoCancelFixture struct {
	env   *testsuite.TestWorkflowEnvironment
	crm   *crm.CRM
	store *memStore
}

func newRTOCancelFixture(t *testing.T) *rtoCancelFixture {
	sandbox := crm.New("orderflow", "s3cret", time.Hour)
	srv := httptest.NewServer(sandbox.Handler())
	t.Cleanup(srv.Close)
	ms := rtoWebhookConfig(srv.URL)
	acts := &activities.Activities{
		Store:                    ms,
		Webhooks:                 delivery.NewSender(delivery.Options{HTTPClient: srv.Client(), Timeout: 5 * time.Second}),
		Tokens:                   webhook.NewTokens(srv.Client(), webhook.TokenOptions{Timeout: 5 * time.Second, DefaultTTL: time.Minute}),
		MarketplaceLookupTimeout: 5 * time.Second,
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(RTOCancel)
	env.RegisterActivity(acts)
	return &rtoCancelFixture{env: env, crm: sandbox, store: ms}
}

func (f *rtoCancelFixture) run(t *testing.T) RTOCancelResult {
	t.Helper()
	f.env.ExecuteWorkflow(RTOCancel, RTOCancelInput{OrderID: "order-1", Status: tracking.RTO, Source: "delhivery"})
	if !f.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := f.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res RTOCancelResult
	if err := f.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRTOCancelPostsSeedPayloadWithBearerToken(t *testing.T) {
	f := newRTOCancelFixture(t)
	res := f.run(t)
	got := f.crm.Accepted()
	if len(got) != 1 || len(f.crm.Received()) != 1 {
		t.Fatalf("CRM got %d calls (%d accepted), want 1", len(f.crm.Received()), len(got))
	}
	want := map[string]any{"phone_number": "9876500001", "order_id": "order-1", "order_source": "Shopify", "order_value": 1499.0, "status": "rto"}
	for k, v := range want {
		if got[0].Body[k] != v {
			t.Errorf("body[%s] = %v, want %v", k, got[0].Body[k], v)
		}
	}
	if len(got[0].Body) != len(want) || !got[0].Authorized {
		t.Errorf("body %v, authorized %v", got[0].Body, got[0].Authorized)
	}
	hookID := f.store.webhooks[0].Webhook.ID.Hex()
	if got[0].IdempotencyKey != "rto-cancel:order-1:"+hookID {
		t.Errorf("idempotency key %q", got[0].IdempotencyKey)
	}
	if !res.Claimed || len(res.Deliveries) != 1 || res.Deliveries[0].Status != DeliveryDelivered {
		t.Errorf("result %+v", res)
	}
}

func TestRTOCancelRetries5xxUntilDelivered(t *testing.T) {
	f := newRTOCancelFixture(t)
	f.crm.FailNext(500, 503, 502)
	res := f.run(t)
	if n := len(f.crm.Received()); n != 4 {
		t.Errorf("CRM got %d POSTs, want 4 (3 failures + success)", n)
	}
	if len(f.crm.Accepted()) != 1 || res.Deliveries[0].Status != DeliveryDelivered {
		t.Errorf("want one accepted delivery, got %+v", res)
	}
	if len(f.store.deliveries) != 4 {
		t.Fatalf("logged %d attempts, want 4", len(f.store.deliveries))
	}
	for i, d := range f.store.deliveries {
		if d.Attempt != int32(i+1) || d.OK != (i == 3) {
			t.Errorf("log[%d] = attempt %d ok %v", i, d.Attempt, d.OK)
		}
	}
}

func TestRTOCancelRefreshesTokenOnceOn401(t *testing.T) {
	f := newRTOCancelFixture(t)
	f.crm.FailNext(401)
	res := f.run(t)
	if f.crm.TokenCalls() != 2 {
		t.Errorf("token fetched %d times, want 2 (initial + one refresh)", f.crm.TokenCalls())
	}
	if len(f.crm.Received()) != 2 || len(f.crm.Accepted()) != 1 || res.Deliveries[0].Status != DeliveryDelivered {
		t.Errorf("received %d, accepted %d, result %+v", len(f.crm.Received()), len(f.crm.Accepted()), res)
	}
	if len(f.store.deliveries) != 2 || !f.store.deliveries[1].AuthRefreshed || f.store.deliveries[1].Attempt != 1 {
		t.Errorf("the refresh must happen within the first attempt: %+v", f.store.deliveries)
	}
}

func TestRTOCancelStopsOnFinal4xx(t *testing.T) {
	f := newRTOCancelFixture(t)
	f.crm.FailNext(422, 422, 422)
	res := f.run(t)
	if n := len(f.crm.Received()); n != 1 {
		t.Errorf("CRM got %d POSTs after a 422, want 1", n)
	}
	if d := res.Deliveries[0]; d.Status != DeliveryRejected || d.StatusCode != 422 {
		t.Errorf("outcome %+v, want rejected 422", d)
	}
	if len(f.store.deliveries) != 1 || f.store.deliveries[0].StatusCode != 422 || f.store.deliveries[0].OK {
		t.Errorf("logged %+v", f.store.deliveries)
	}
}

func TestRTOCancelSendsEmptyOrderSourceWhenMarketplaceLookupFails(t *testing.T) {
	f := newRTOCancelFixture(t)
	f.store.marketplaceErr = errors.New("mongo unreachable")
	f.run(t)
	got := f.crm.Accepted()
	if len(got) != 1 {
		t.Fatalf("CRM accepted %d calls, want 1", len(got))
	}
	if v, ok := got[0].Body["order_source"]; !ok || v != "" {
		t.Errorf("order_source = %v (present %v), want \"\"", v, ok)
	}
	if f.store.marketplaceHits != 3 {
		t.Errorf("marketplace lookup tried %d times, want 3", f.store.marketplaceHits)
	}
}

func TestRTOCancelSendsNothingWhenAlreadyClaimed(t *testing.T) {
	f := newRTOCancelFixture(t)
	f.store.claimedBy = "another-chain"
	res := f.run(t)
	if res.Claimed || len(f.crm.Received()) != 0 {
		t.Errorf("claimed=%v, CRM calls=%d; want no call", res.Claimed, len(f.crm.Received()))
	}
}

func TestRTOCancelSkipsWebhooksWhoseConditionsFail(t *testing.T) {
	f := newRTOCancelFixture(t)
	f.store.webhooks[0].Conditions = []webhook.Condition{{Field: "tracking_status", Operator: webhook.OpEq, Value: "rto delivered", Group: 1}}
	res := f.run(t)
	if len(f.crm.Received()) != 0 || len(res.Deliveries) != 0 {
		t.Errorf("a webhook whose condition fails was delivered: %+v", res)
	}
}

func TestRTOCancelQueryReportsDeliveryState(t *testing.T) {
	f := newRTOCancelFixture(t)
	f.run(t)
	v, err := f.env.QueryWorkflow(DeliveryStateQuery)
	if err != nil {
		t.Fatal(err)
	}
	var st RTOCancelState
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	if st.Stage != StageDone || st.Marketplace != "Shopify" || len(st.Deliveries) != 1 || st.Deliveries[0].Status != DeliveryDelivered {
		t.Errorf("state %+v", st)
	}
}
