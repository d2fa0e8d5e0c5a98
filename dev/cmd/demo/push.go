package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"orderflow/config"
	"orderflow/dev/sandbox/demo"
	"orderflow/dev/sandbox/pushers"
	"orderflow/store"
	"orderflow/workflows"
)

// pushDemo plays the sandbox senders' script against the starter (account
// "demo", credentials from the config file), then waits for the two push-driven
// RTOs to finish and shows what the sandbox CRM received for them.
func pushDemo(cfg config.Config, api *resty.Client) error {
	keys, secrets := cfg.Push.ClickpostKeys["demo"], cfg.Push.FulfilmentSecrets["demo"]
	srTokens, dlTokens := cfg.Push.ShiprocketTokens["demo"], cfg.Push.DelhiveryTokens["demo"]
	if len(keys) == 0 || len(secrets) == 0 || len(srTokens) == 0 || len(dlTokens) == 0 {
		return fmt.Errorf("push.clickpost_keys.demo, push.fulfilment_secrets.demo, push.shiprocket_tokens.demo " +
			"and push.delhivery_tokens.demo must be configured")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := store.Connect(ctx, cfg.Mongo.URI, cfg.Mongo.Database, cfg.Mongo.ConnectTimeout)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close(context.Background()) }()
	seeded, err := demo.SeedOrders(ctx, st.Database(), 5) // idempotent: lists the demo orders
	if err != nil {
		return err
	}
	orders := make([]pushers.Order, 0, len(seeded))
	for _, o := range seeded {
		orders = append(orders, pushers.Order{ID: o.ID, AWB: o.AWB})
	}
	sender := pushers.Sender{
		BaseURL: "http://" + cfg.HTTP.Listen, Account: "demo", ClickpostKey: keys[len(keys)-1],
		FulfilmentSecret: secrets[len(secrets)-1], ShiprocketToken: srTokens[len(srTokens)-1],
		DelhiveryToken: dlTokens[len(dlTokens)-1], Attempts: 5, Client: resty.New().SetTimeout(10 * time.Second),
	}
	fmt.Println("sandbox senders pushing (Clickpost: webhook_key; fulfilment: X-Event-Signature; " +
		"Shiprocket: x-api-key; Delhivery: Authorization):")
	for _, d := range pushers.DemoScript(orders, time.Now().UTC().Truncate(time.Second).Add(-24*time.Hour)) {
		code, body, err := sender.Send(ctx, d)
		if err != nil {
			return err
		}
		fmt.Printf("  %-10s %d  %-66s %s\n", d.Sender, code, d.Note, strings.TrimSpace(body))
	}
	crm := resty.New().SetBaseURL(envOr("SANDBOX_CRM_URL", "http://127.0.0.1:8090")).SetTimeout(5 * time.Second)
	for _, o := range orders[1:3] {
		if err := waitRTODone(ctx, api, o.ID); err != nil {
			return err
		}
		var calls []struct {
			Body map[string]any `json:"body"`
		}
		if _, err := crm.R().SetResult(&calls).Get("/received"); err != nil {
			return err
		}
		n := 0
		for _, c := range calls {
			if c.Body["order_id"] == o.ID {
				n++
			}
		}
		fmt.Printf("order %s: RTOCancel %s done; the sandbox CRM holds %d cancel-order call(s) for it\n",
			o.ID, workflows.RTOCancelWorkflowID(o.ID), n)
	}
	return nil
}

// waitRTODone polls the order's RTOCancel query until its stage is done.
func waitRTODone(ctx context.Context, api *resty.Client, orderID string) error {
	for {
		var out struct {
			State workflows.RTOCancelState `json:"state"`
		}
		resp, err := api.R().SetContext(ctx).SetResult(&out).Get("/v1/orders/" + orderID + "/rto")
		if err == nil && resp.StatusCode() == 200 && out.State.Stage == workflows.StageDone {
			return nil
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(os.Stderr, "order %s: RTOCancel not done in time (see the Temporal UI)\n", orderID)
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
