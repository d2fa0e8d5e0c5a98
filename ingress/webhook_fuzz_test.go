package ingress

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"orderflow/config"
	"orderflow/dev/devstore"
	"orderflow/observability"
	"orderflow/recovery"
	"orderflow/store"
	"orderflow/tracking/push/clickpost"
	"orderflow/tracking/push/fulfilment"
)

// Distinctive secrets of the webhook fuzz targets: signatures are computed
// with them over each fuzzed body, so the fuzzer reaches the parsers behind
// the signature checks; none may come back in a response.
const (
	fuzzClickpostKey     = "fuzz-clickpost-key-5d1c9a"
	fuzzFulfilmentSecret = "fuzz-fulfilment-secret-77ab02"
	fuzzBillingSecret    = "whsec_ZnV6ei1iaWxsaW5nLXNlY3JldC0zYzk4"
	fuzzChargebeeUser    = "orderflow"
	fuzzPlatformAPIKey   = "fuzz-platform-api-key-e41f"
)

// acceptingTemporal stands in for the Temporal frontend: every start and
// signal succeeds, so the only non-2xx answers left are the handler's own.
type acceptingTemporal struct{ client.Client }

func (acceptingTemporal) ExecuteWorkflow(context.Context, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, nil
}

func (acceptingTemporal) SignalWithStartWorkflow(context.Context, string, string, any, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, nil
}

func (acceptingTemporal) SignalWorkflow(context.Context, string, string, string, any) error {
	return nil
}

// GetWorkflow answers a billing webhook's wait for its ingest with a decision.
func (acceptingTemporal) GetWorkflow(context.Context, string, string) client.WorkflowRun {
	return decidedRun{}
}

type decidedRun struct{ client.WorkflowRun }

func (decidedRun) Get(context.Context, any) error { return nil }

// webhookFuzz is the whole router on embedded FerretDB, with one business
// profile holding a connector of each billing platform (webhook secrets set,
// thin events completed from a fake platform API serving the fixtures).
type webhookFuzz struct {
	handler    http.Handler
	profileID  string
	connectors map[string]string // platform → connector id
}

func startWebhookFuzz(f *testing.F) *webhookFuzz {
	dir := f.TempDir()
	srv, err := devstore.Start(devstore.Options{Addr: "127.0.0.1:0", Dir: dir})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = srv.Stop() })
	ctx := context.Background()
	st, err := store.Connect(ctx, srv.URI(), "fuzzwebhooks", 10*time.Second)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Close(context.Background()) })
	if err := st.EnsureIndexes(ctx); err != nil {
		f.Fatal(err)
	}
	platformAPI := httptest.NewServer(http.HandlerFunc(servePlatformFixtures))
	f.Cleanup(platformAPI.Close)

	prof := store.BusinessProfile{MerchantID: "m_fuzz", WebhookURL: "http://127.0.0.1:1/merchant", RetryAlgorithm: recovery.Cascading}
	profID, err := st.Profiles().Insert(ctx, &prof)
	if err != nil {
		f.Fatal(err)
	}
	pay := store.ConnectorAccount{ProfileID: profID.Hex(), ConnectorType: store.PaymentProcessor, ConnectorName: "stripe"}
	payID, err := st.ConnectorAccounts().Insert(ctx, &pay)
	if err != nil {
		f.Fatal(err)
	}
	wf := &webhookFuzz{profileID: profID.Hex(), connectors: map[string]string{}}
	for _, platform := range fuzzPlatforms {
		acct := store.ConnectorAccount{ProfileID: profID.Hex(), ConnectorType: store.BillingProcessor, ConnectorName: platform,
			BaseURL:        platformAPI.URL,
			AccountDetails: store.ConnectorAuth{AuthType: "HeaderKey", APIKey: fuzzPlatformAPIKey},
			WebhookDetails: store.WebhookDetails{MerchantSecret: fuzzBillingSecret, Username: fuzzChargebeeUser},
			FeatureMetadata: &store.FeatureMetadata{RevenueRecovery: &store.RecoveryMetadata{MaxRetryCount: 3,
				BillingAccountReference: map[string]string{payID.Hex(): "gw_fuzz"}}},
		}
		id, err := st.ConnectorAccounts().Insert(ctx, &acct)
		if err != nil {
			f.Fatal(err)
		}
		wf.connectors[platform] = id.Hex()
	}
	wf.handler = Router(Deps{Store: st, Temporal: acceptingTemporal{}, TaskQueue: "fuzz", APIKey: fuzzAPIKey, MaxBodyBytes: 1 << 16,
		Push: config.Push{
			ClickpostKeys:     config.Credentials{"acme": {fuzzClickpostKey}},
			FulfilmentSecrets: config.Credentials{"acme": {fuzzFulfilmentSecret}},
		},
		Logger: zap.NewNop(), Metrics: observability.NewMetrics(), Now: func() time.Time { return fuzzNow }})
	return wf
}

var fuzzPlatforms = []string{recovery.Chargebee, recovery.StripeBilling, recovery.Recurly, recovery.CustomBilling}

var fuzzNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// servePlatformFixtures is the platforms' API for thin events: a charge, a transaction, an invoice.
func servePlatformFixtures(w http.ResponseWriter, r *http.Request) {
	name := map[bool]string{true: "stripe_charge_failed.json"}[strings.HasPrefix(r.URL.Path, "/v1/charges/")]
	switch {
	case strings.HasPrefix(r.URL.Path, "/transactions/"):
		name = "recurly_transaction_declined.json"
	case strings.HasPrefix(r.URL.Path, "/invoices/"):
		name = "recurly_invoice.json"
	}
	b, err := os.ReadFile(filepath.Join("..", "recovery", "testdata", name))
	if name == "" || err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// do serves one request and checks what every answer must be: never a 5xx
// (Temporal and the store are up, so a 5xx is the handler's own fault), a
// 4xx with an error message, and no secret echoed.
func (wf *webhookFuzz) do(t *testing.T, req *http.Request, body []byte) int {
	t.Helper()
	req.Header.Set("Content-Type", "application/json") // as every sender does
	rec := httptest.NewRecorder()
	wf.handler.ServeHTTP(rec, req)
	out := rec.Body.Bytes()
	if rec.Code >= 500 {
		t.Fatalf("%s answered %d %s for body %q", req.URL.Path, rec.Code, out, body)
	}
	if rec.Code >= 400 {
		var e apiError
		if json.Unmarshal(out, &e) != nil || e.Error == "" {
			t.Fatalf("%s answered %d without an error message: %q", req.URL.Path, rec.Code, out)
		}
	}
	for _, s := range []string{fuzzClickpostKey, fuzzFulfilmentSecret, fuzzBillingSecret, fuzzPlatformAPIKey} {
		if bytes.Contains(out, []byte(s)) {
			t.Fatalf("%s echoed a secret", req.URL.Path)
		}
	}
	return rec.Code
}

// FuzzPushWebhooks: a correctly authenticated push to /webhooks/clickpost or
// /webhooks/fulfilment with any body (and any X-Event-Delivery) gets 200 when
// the parser accepts it and a 4xx otherwise — never a 5xx — and the same body
// with a wrong key or signature always gets 401.
func FuzzPushWebhooks(f *testing.F) {
	for _, dir := range []string{"../tracking/push/clickpost/testdata", "../tracking/push/fulfilment/testdata"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(strings.Contains(dir, "fulfilment"), b, "42")
		}
	}
	f.Add(false, []byte(`{"waybill":"W1","clickpost_status_code":21,"timestamp":"2026-11-20T10:00:00Z","additional":{"order_id":"o1"}}`), "")
	f.Add(true, []byte(`{"event":"ORDER.CHANGE_STATUS","payload":{"order":{"code":"dh07060099","updated_at":"2022-06-07T09:55:58.000000Z"},"to_status":"RETURN"}}`), "x")
	wf := startWebhookFuzz(f)
	f.Fuzz(func(t *testing.T, toFulfilment bool, body []byte, delivery string) {
		path, sign, parses := "/webhooks/clickpost", func(h http.Header, secret string) { h.Set("webhook_key", secret) }, func() bool {
			_, err := clickpost.Parse(body)
			return err == nil
		}
		secret := fuzzClickpostKey
		if toFulfilment {
			path, secret = "/webhooks/fulfilment", fuzzFulfilmentSecret
			sign = func(h http.Header, secret string) {
				h.Set("X-Event-Signature", fulfilment.Sign(body, secret))
				h.Set("X-Event-Delivery", delivery)
			}
			parses = func() bool {
				_, errBody := fulfilment.Parse(body)
				_, errDelivery := fulfilment.ParseDelivery(delivery)
				return errBody == nil && errDelivery == nil
			}
		}
		for _, p := range []string{path, path + "/acme"} {
			req := httptest.NewRequest(http.MethodPost, p, bytes.NewReader(body))
			sign(req.Header, secret)
			if code, want := wf.do(t, req, body), parses(); want != (code == http.StatusOK) {
				t.Fatalf("%s answered %d; parser accepts the body: %v", p, code, want)
			}
			forged := httptest.NewRequest(http.MethodPost, p, bytes.NewReader(body))
			sign(forged.Header, secret+"-forged")
			if code := wf.do(t, forged, body); code != http.StatusUnauthorized {
				t.Fatalf("%s with a forged key or signature answered %d", p, code)
			}
		}
	})
}

// FuzzRecoveryWebhook: a billing event signed with the connector's real scheme
// (HTTP Basic, Stripe-Signature, recurly-signature, Standard Webhooks) over
// any body is answered 200 or 4xx by /webhooks/revenue_recovery/{profile}/{connector},
// never 5xx; a body the platform's parser refuses is a 400; unsigned is a 401.
func FuzzRecoveryWebhook(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("..", "recovery", "testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no recovery fixtures: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		base := filepath.Base(file)
		for i, prefix := range []string{"chargebee_", "stripe_", "recurly_", "custom_"} {
			if strings.HasPrefix(base, prefix) {
				f.Add(uint8(i), b, "msg_"+base)
			}
		}
	}
	wf := startWebhookFuzz(f)
	f.Fuzz(func(t *testing.T, which uint8, body []byte, webhookID string) {
		platform := fuzzPlatforms[int(which)%len(fuzzPlatforms)]
		path := "/webhooks/revenue_recovery/" + wf.profileID + "/" + wf.connectors[platform]
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		signed := signBilling(t, platform, req.Header, body, webhookID)
		code := wf.do(t, req, body)
		if signed {
			if _, err := recovery.Parse(platform, body, req.Header); err != nil && code != http.StatusBadRequest {
				t.Fatalf("%s body the parser refuses (%v) answered %d", platform, err, code)
			}
		}
		unsigned := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		if code := wf.do(t, unsigned, body); code != http.StatusUnauthorized {
			t.Fatalf("unsigned %s event answered %d", platform, code)
		}
	})
}

// signBilling signs body as the platform does; false when the scheme cannot
// carry this webhook id (Standard Webhooks needs a non-empty header-safe id).
func signBilling(t *testing.T, platform string, h http.Header, body []byte, webhookID string) bool {
	switch platform {
	case recovery.Chargebee:
		h.Set("Authorization", recovery.BasicAuthorization(fuzzChargebeeUser, fuzzBillingSecret))
	case recovery.StripeBilling:
		h.Set("Stripe-Signature", recovery.SignStripe(fuzzBillingSecret, fuzzNow, body))
	case recovery.Recurly:
		h.Set("recurly-signature", recovery.SignRecurly(fuzzBillingSecret, fuzzNow, body))
	case recovery.CustomBilling:
		if webhookID == "" || strings.ContainsAny(webhookID, "\r\n\x00") {
			return false
		}
		if err := recovery.StandardWebhookHeaders(h, fuzzBillingSecret, webhookID, fuzzNow, body); err != nil {
			t.Fatal(err)
		}
	}
	return true
}
