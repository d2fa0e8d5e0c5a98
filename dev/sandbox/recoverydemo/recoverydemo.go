// Package recoverydemo assembles revenue recovery's sandbox for `make run`:
// the billing platform (/billing/), the Stripe-shaped payment processor
// (/stripe/) and the merchant receiver (/merchant/) on one listener, the demo
// scenario deciding each payment method's outcomes, and the configuration of a
// demo profile and its connectors through orderflow's API. Development only.
package recoverydemo

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"

	"orderflow/dev/sandbox/billing"
	"orderflow/dev/sandbox/demo"
	"orderflow/dev/sandbox/merchant"
	"orderflow/dev/sandbox/payments"
	"orderflow/recovery"
)

// Dev-only credentials shared by the sandbox and `demo seed`.
const (
	MerchantID      = "demo_merchant"
	HashKey         = "whsec_ZGVtby1tZXJjaGFudC1oYXNoLWtleS1vcmRlcmZsb3c="
	StripeAPIKey    = "sk_test_demo_sandbox"
	BillingAPIKey   = "billing_demo_api_key"
	ChargebeeUser   = "orderflow"
	GatewayAccount  = "gw_demo_stripe"
	webhookSecretCB = "demo-chargebee-password"
)

// WebhookSecrets are the demo billing connectors' webhook secrets by platform.
var WebhookSecrets = map[string]string{
	recovery.Chargebee:     webhookSecretCB,
	recovery.StripeBilling: "whsec_demo_stripe_billing",
	recovery.Recurly:       "demo-recurly-endpoint-key",
	recovery.CustomBilling: "whsec_ZGVtby1jdXN0b20tYmlsbGluZy1zZWNyZXQta2V5",
}

// Demo payment methods and what the processor does with them.
const (
	PMSoftThenSuccess = "pm_demo_soft_then_ok" // two soft declines, then success
	PMHardDecline     = "pm_demo_stolen"       // stolen_card: stop at once
	PMProcessing      = "pm_demo_processing"   // processing, settles on the second sync
)

// Scenario is the demo processor's behaviour by payment method.
func Scenario(pm, _ string, previous int) payments.Outcome {
	switch {
	case pm == PMHardDecline:
		return payments.Outcome{Kind: payments.Decline, DeclineCode: "stolen_card"}
	case pm == PMProcessing && previous == 0:
		return payments.Outcome{Kind: payments.Processing, SettleTo: "succeeded", SettleAfter: 1}
	case pm == PMSoftThenSuccess && previous == 0:
		return payments.Outcome{Kind: payments.Decline, DeclineCode: "insufficient_funds"}
	case pm == PMSoftThenSuccess && previous == 1:
		return payments.Outcome{Kind: payments.Decline, Code: "processing_error", DeclineCode: "try_again_later"}
	}
	return payments.Outcome{Kind: payments.Succeed}
}

// Sandbox is the three stand-ins on one listener.
type Sandbox struct {
	Billing   *billing.Platform
	Processor *payments.Processor
	Merchant  *merchant.Merchant
}

// New makes the sandbox with the demo scenario.
func New() *Sandbox {
	s := &Sandbox{Billing: billing.New(BillingAPIKey), Processor: payments.New(StripeAPIKey), Merchant: merchant.New(HashKey)}
	s.Processor.SetScenario(Scenario)
	return s
}

// SendRequest asks the sandbox's billing platform to send one webhook.
type SendRequest struct {
	URL      string          `json:"url"` // orderflow's /webhooks/revenue_recovery/{profile}/{connector}
	Platform string          `json:"platform"`
	Kind     string          `json:"kind"` // failed, succeeded, pending, cancelled
	Invoice  billing.Invoice `json:"invoice"`
}

// Handler mounts /billing/ (its API and POST /billing/send), /stripe/, /merchant/ and an index at /.
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/billing/", http.StripPrefix("/billing", s.Billing.Handler()))
	mux.Handle("/stripe/", http.StripPrefix("/stripe", s.Processor.Handler()))
	mux.Handle("/merchant/", http.StripPrefix("/merchant", s.Merchant.Handler()))
	mux.HandleFunc("POST /send", s.send)
	mux.HandleFunc("GET /{$}", s.index)
	return mux
}

func (s *Sandbox) send(w http.ResponseWriter, r *http.Request) {
	var req SendRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || !recovery.IsBillingPlatform(req.Platform) {
		http.Error(w, "body must be a SendRequest with a known platform", http.StatusBadRequest)
		return
	}
	e := billing.Endpoint{URL: req.URL, Platform: req.Platform, Secret: WebhookSecrets[req.Platform], Username: ChargebeeUser}
	code, body, err := s.Billing.Send(r.Context(), e, req.Kind, req.Invoice)
	if err != nil {
		http.Error(w, "sending failed: "+err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status_code": code, "sent": json.RawMessage(body)})
}

var indexPage = template.Must(template.New("index").Parse(`<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="refresh" content="3"><title>orderflow recovery sandbox</title>
<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px 8px}table{border-collapse:collapse;margin-bottom:2em}</style></head><body>
<h1>Revenue recovery sandbox</h1>
<h2>Merchant: webhooks received</h2>
<table><tr><th>at</th><th>event</th><th>invoice</th><th>event_id</th><th>X-Webhook-Signature-512</th><th>Standard Webhooks</th><th>answer</th></tr>
{{range .Received}}<tr><td>{{.At.Format "15:04:05"}}</td><td>{{.EventType}}</td><td>{{.Invoice}}</td><td>{{.EventID}}</td><td>{{if .Sig}}verified{{else}}BAD{{end}}</td><td>{{if .Std}}verified{{else}}BAD{{end}}</td><td>{{.Code}}</td></tr>{{end}}</table>
<h2>Payment processor: charges</h2>
<table><tr><th>at</th><th>invoice</th><th>payment method</th><th>status</th><th>decline</th><th>idempotency key</th></tr>
{{range .Charges}}<tr><td>{{.At.Format "15:04:05"}}</td><td>{{index .Metadata "invoice_id"}}</td><td>{{.PaymentMethod}}</td><td>{{.Status}}</td><td>{{.DeclineCode}}</td><td>{{.IdempotencyKey}}</td></tr>{{end}}</table>
<h2>Billing platform: record-backs</h2>
<table><tr><th>at</th><th>platform</th><th>invoice</th></tr>
{{range .RecordBacks}}<tr><td>{{.At.Format "15:04:05"}}</td><td>{{.Platform}}</td><td>{{.InvoiceID}}</td></tr>{{end}}</table>
<p>JSON: <a href="/merchant/">/merchant/</a> · <a href="/stripe/">/stripe/</a> · <a href="/billing/">/billing/</a></p></body></html>`))

type receivedRow struct {
	merchant.Received
	Invoice  string
	Sig, Std bool
	Code     int
}

func (s *Sandbox) index(w http.ResponseWriter, _ *http.Request) {
	var rows []receivedRow
	for _, r := range s.Merchant.Received() {
		inv := ""
		if c, ok := r.Body["content"].(map[string]any); ok {
			if o, ok := c["object"].(map[string]any); ok {
				inv, _ = o["merchant_reference_id"].(string)
			}
		}
		rows = append(rows, receivedRow{Received: r, Invoice: inv, Sig: r.Signature512OK, Std: r.StandardWebhooksOK, Code: r.StatusCode})
	}
	_ = indexPage.Execute(w, map[string]any{"Received": rows, "Charges": s.Processor.Charges(), "RecordBacks": s.Billing.RecordBacks()})
}

// Config is what Configure created.
type Config struct {
	ProfileID  string
	PaymentID  string
	Connectors map[string]string // platform → billing connector id
}

// Configure creates the demo profile (cascading, seconds apart, no jitter),
// the sandbox Stripe connector and one billing connector per platform,
// through orderflow's configuration API; sandboxURL is this sandbox's base URL.
func Configure(post demo.PostFunc, sandboxURL string) (Config, error) {
	prof, err := post("/v1/profiles", map[string]any{
		"merchant_id": MerchantID, "profile_name": "demo", "webhook_url": sandboxURL + "/merchant/webhooks",
		"payment_response_hash_key": HashKey, "revenue_recovery_retry_algorithm_type": "cascading",
		"cascading_schedule": map[string]any{"start_after_seconds": 5,
			"frequencies": []map[string]any{{"delay_seconds": 10, "count": 2}, {"delay_seconds": 20, "count": 3}}},
		"max_random_schedule_delay_in_seconds": 2, "psync_delays_seconds": []int{3, 5, 10, 30},
	})
	if err != nil {
		return Config{}, err
	}
	cfg := Config{ProfileID: fmt.Sprint(prof["id"]), Connectors: map[string]string{}}
	pay, err := post("/v1/connector-accounts", map[string]any{
		"profile_id": cfg.ProfileID, "connector_type": "payment_processor", "connector_name": "stripe",
		"base_url": sandboxURL + "/stripe", "connector_account_details": map[string]any{"auth_type": "HeaderKey", "api_key": StripeAPIKey},
	})
	if err != nil {
		return Config{}, err
	}
	cfg.PaymentID = fmt.Sprint(pay["id"])
	platforms := make([]string, 0, len(WebhookSecrets))
	for p := range WebhookSecrets {
		platforms = append(platforms, p)
	}
	sort.Strings(platforms)
	for _, platform := range platforms {
		acct, err := post("/v1/connector-accounts", map[string]any{
			"profile_id": cfg.ProfileID, "connector_type": "billing_processor", "connector_name": platform,
			"base_url": sandboxURL + "/billing", "connector_account_details": map[string]any{"auth_type": "HeaderKey", "api_key": BillingAPIKey},
			"connector_webhook_details": map[string]any{"merchant_secret": WebhookSecrets[platform], "username": ChargebeeUser},
			"feature_metadata": map[string]any{"revenue_recovery": map[string]any{
				"max_retry_count": 5, "billing_connector_retry_threshold": 1,
				"billing_account_reference":    map[string]any{cfg.PaymentID: GatewayAccount},
				"switch_payment_method_config": map[string]any{"retry_threshold": 0, "time_threshold_after_creation": 0},
			}},
		})
		if err != nil {
			return Config{}, err
		}
		cfg.Connectors[platform] = fmt.Sprint(acct["id"])
	}
	return cfg, nil
}

// DemoInvoice is a failed invoice of the demo for a payment method.
func DemoInvoice(id, pm string) billing.Invoice {
	return billing.Invoice{ID: id, Amount: 2250, Currency: "USD", Customer: "cus_demo_" + id, PaymentMethod: pm, AttemptCount: 3,
		ErrorCode: "card_declined", DeclineCode: "insufficient_funds", GatewayAccountID: GatewayAccount, TransactionID: "ch_platform_" + id}
}
