// Command demo drives the sandbox for `make run`:
//
//	demo seed                 demo orders + marketplaces, and the RTO webhook configuration through the API
//	demo rto <order_id>       report the order as rto through the status-update path
//	demo push                 the sandbox Clickpost and fulfilment senders push the demo orders' events
//	demo recovery             send failed-payment webhooks of demo invoices from the sandbox billing platform
//	demo dev-server-flags     print the dev server's flags (search attributes, one partition per queue)
//
// It reads the same config file as the worker and starter (ORDERFLOW_CONFIG).
// Development only.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"orderflow/config"
	sbcouriers "orderflow/dev/sandbox/couriers"
	"orderflow/dev/sandbox/demo"
	"orderflow/store"
	"orderflow/workflows"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	if os.Args[1] == "dev-server-flags" {
		fmt.Println(strings.Join(workflows.DevServerFlags(), " "))
		return
	}
	cfg, err := config.Load(os.Getenv("ORDERFLOW_CONFIG"))
	if err != nil {
		fail(err)
	}
	api := resty.New().SetBaseURL("http://"+cfg.HTTP.Listen).SetHeader("X-API-Key", cfg.HTTP.APIKey).SetTimeout(10 * time.Second)
	switch {
	case os.Args[1] == "seed":
		err = seed(cfg, api)
	case os.Args[1] == "rto" && len(os.Args) == 3:
		err = reportRTO(api, os.Args[2])
	case os.Args[1] == "push":
		err = pushDemo(cfg, api)
	case os.Args[1] == "recovery":
		err = sendRecoveryDemo(api)
	default:
		usage()
	}
	if err != nil {
		fail(err)
	}
}

func seed(cfg config.Config, api *resty.Client) error {
	ctx := context.Background()
	st, err := store.Connect(ctx, cfg.Mongo.URI, cfg.Mongo.Database, cfg.Mongo.ConnectTimeout)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close(ctx) }()
	orders, err := demo.SeedOrders(ctx, st.Database(), 5)
	if err != nil {
		return err
	}
	n, err := st.Events().Count(ctx, nil)
	if err != nil {
		return err
	}
	if n == 0 {
		hookID, err := demo.ConfigureRTOWebhook(post(api), demo.CRMCredentials{
			BaseURL: envOr("SANDBOX_CRM_URL", "http://127.0.0.1:8090"), ClientID: envOr("SANDBOX_CRM_CLIENT_ID", "orderflow-demo"),
			ClientSecret: envOr("SANDBOX_CRM_CLIENT_SECRET", "demo-crm-secret"),
		})
		if err != nil {
			return err
		}
		fmt.Println("created the RTO webhook configuration through the API; webhook", hookID)
	}
	if err := seedRecovery(ctx, st, api); err != nil {
		return err
	}
	if err := sbcouriers.SeedDemoShipments(ctx, st.Database()); err != nil {
		return err
	}
	fmt.Println("tracking-sweep demo orders (the courier sandbox moves them; CRM POST expected?):")
	for _, d := range sbcouriers.DemoShipments() {
		fmt.Printf("  %s  %-14s %-13s post=%-5v %s\n", d.OrderID, d.AWB, d.CourierName, d.WantsCRMPost, d.Story)
	}
	fmt.Println("demo orders (make rto ORDER=<id> to move one to RTO):")
	for _, o := range orders {
		fmt.Printf("  %s  awb %s  %s\n", o.ID, o.AWB, o.Marketplace)
	}
	return nil
}

func post(api *resty.Client) demo.PostFunc {
	return func(path string, body any) (map[string]any, error) {
		var out map[string]any
		resp, err := api.R().SetBody(body).SetResult(&out).SetError(&out).Post(path)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode() != 201 {
			return nil, fmt.Errorf("POST %s: %d %v", path, resp.StatusCode(), out)
		}
		return out, nil
	}
}

func reportRTO(api *resty.Client, orderID string) error {
	var out map[string]any
	resp, err := api.R().SetBody(map[string]any{"status": "rto", "source": "demo"}).SetResult(&out).SetError(&out).
		Post("/v1/orders/" + orderID + "/tracking")
	if err != nil {
		return err
	}
	switch resp.StatusCode() {
	case http.StatusAccepted, http.StatusOK:
	case http.StatusNotFound:
		return fmt.Errorf("no order %s in the store: nothing was started (demo orders are listed by `bin/demo seed`)", orderID)
	default:
		return fmt.Errorf("report rto: %d %v", resp.StatusCode(), out)
	}
	fmt.Printf("reported rto for %s: workflow %v; its RTOCancel is %s\n", orderID, out["workflow_id"], workflows.RTOCancelWorkflowID(orderID))
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: demo seed | demo rto <order_id> | demo push | demo recovery | demo dev-server-flags")
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "demo:", err)
	os.Exit(1)
}
