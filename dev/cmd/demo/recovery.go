package main

import (
	"context"
	"fmt"
	"time"

	"github.com/go-resty/resty/v2"

	"orderflow/dev/sandbox/billing"
	"orderflow/dev/sandbox/recoverydemo"
	"orderflow/recovery"
	"orderflow/store"
)

func recoverySandboxURL() string { return envOr("SANDBOX_RECOVERY_URL", "http://127.0.0.1:8092") }

// seedRecovery configures the demo profile and connectors through the API, once.
func seedRecovery(ctx context.Context, st *store.Store, api *resty.Client) error {
	n, err := st.Profiles().Count(ctx, nil)
	if err != nil || n > 0 {
		return err
	}
	cfg, err := recoverydemo.Configure(post(api), recoverySandboxURL())
	if err != nil {
		return err
	}
	fmt.Printf("created the revenue recovery demo profile %s (cascading, seconds apart) and its connectors through the API\n", cfg.ProfileID)
	return nil
}

// sendRecoveryDemo has the sandbox billing platform send one signed
// failed-payment webhook per demo scenario, each in another platform's format.
func sendRecoveryDemo(api *resty.Client) error {
	var profiles struct {
		Items []struct {
			ID         string `json:"id"`
			MerchantID string `json:"merchant_id"`
		} `json:"items"`
	}
	var accounts struct {
		Items []struct {
			ID            string `json:"id"`
			ProfileID     string `json:"profile_id"`
			ConnectorName string `json:"connector_name"`
		} `json:"items"`
	}
	if _, err := api.R().SetResult(&profiles).Get("/v1/profiles"); err != nil {
		return err
	}
	if _, err := api.R().SetResult(&accounts).Get("/v1/connector-accounts"); err != nil {
		return err
	}
	profileID := ""
	for _, p := range profiles.Items {
		if p.MerchantID == recoverydemo.MerchantID {
			profileID = p.ID
		}
	}
	if profileID == "" {
		return fmt.Errorf("no demo profile: run `demo seed` (make run does) first")
	}
	connectors := map[string]string{}
	for _, a := range accounts.Items {
		if a.ProfileID == profileID {
			connectors[a.ConnectorName] = a.ID
		}
	}
	stamp := time.Now().Format("150405")
	scenarios := []struct {
		platform, pm, what string
	}{
		{recovery.Chargebee, recoverydemo.PMSoftThenSuccess, "two soft declines, then success → one payment_succeeded"},
		{recovery.Recurly, recoverydemo.PMProcessing, "processing, synced to success → one payment_succeeded"},
		{recovery.StripeBilling, recoverydemo.PMHardDecline, "stolen card → stops at once, payment_failed"},
		{recovery.CustomBilling, recoverydemo.PMSoftThenSuccess, "Standard Webhooks source, soft declines then success"},
	}
	sandbox := resty.New().SetBaseURL(recoverySandboxURL()).SetTimeout(30 * time.Second)
	for _, sc := range scenarios {
		inv := recoverydemo.DemoInvoice(fmt.Sprintf("inv_%s_%s", sc.platform, stamp), sc.pm)
		var out map[string]any
		resp, err := sandbox.R().SetResult(&out).SetBody(recoverydemo.SendRequest{
			URL:      api.BaseURL + "/webhooks/revenue_recovery/" + profileID + "/" + connectors[sc.platform],
			Platform: sc.platform, Kind: billing.Failed, Invoice: inv,
		}).Post("/send")
		if err != nil {
			return err
		}
		if resp.StatusCode() != 200 {
			return fmt.Errorf("recovery sandbox: POST /send: %d", resp.StatusCode())
		}
		fmt.Printf("%-14s invoice %-28s orderflow answered %v — %s\n", sc.platform, inv.ID, out["status_code"], sc.what)
	}
	fmt.Printf("\nWatch: Temporal UI http://127.0.0.1:8233 (filter InvoiceID = \"…\" or RecoveryStatus = \"scheduled\"),\n"+
		"the sandbox http://127.0.0.1:8092 (webhooks verified, charges, record-backs), and\n"+
		"GET /v1/recoveries/%s/<invoice> on the API.\n", profileID)
	return nil
}
