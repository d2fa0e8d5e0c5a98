package starter

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"orderflow/config"
	"orderflow/ingress"
	"orderflow/store"
	"orderflow/temporalclient"
)

// RedriveUsage describes `starter redrive`.
const RedriveUsage = `usage: starter redrive [-config file] start|count (-delivery id,… | -webhook id | -profile id) [filter] [options]
  start               start the re-drive (needs -reason) and print its id
  count               a dry run: count what a start would send, send nothing
  -delivery ids       delivery record ids (idempotency keys or event ids), comma-separated
  -webhook id         every delivery of a CRM webhook matching the filter
  -profile id         every delivery of a merchant profile matching the filter
  -status s,…         pending, delivered, rejected, exhausted, parked (default: rejected,exhausted)
  -from T -to T       created in [from, to) (RFC 3339)
  -orders ids         only these orders' deliveries;  -invoices ids: only these invoices'
  -reason text        why (required; audited)
  -force              also send deliveries that already got a 2xx (needs -reason)
  -rate n             deliveries a second (default 5, at most 100)
  -request-id id      the re-drive's id (redrive:<id>); never reusable`

// RedriveCommand runs `starter redrive`: it plans the re-drive against Mongo
// and, unless it is a dry run or nothing matches, starts its workflow.
func RedriveCommand(ctx context.Context, cfg config.Config, logger *zap.Logger, args []string, out io.Writer) error {
	req, err := parseRedrive(args, out)
	if err != nil {
		return err
	}
	st, err := store.Connect(ctx, cfg.Mongo.URI, cfg.Mongo.Database, cfg.Mongo.ConnectTimeout)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close(context.Background()) }()
	var tc client.Client
	if !req.DryRun {
		if tc, err = temporalclient.Dial(cfg.Temporal, logger, nil); err != nil {
			return err
		}
		defer tc.Close()
	}
	return runRedrive(ctx, st, tc, cfg.Temporal.TaskQueue, req, cliActor(), out)
}

func runRedrive(ctx context.Context, st *store.Store, tc client.Client, taskQueue string, req ingress.RedriveRequest, actor string, out io.Writer) error {
	plan, err := ingress.PlanRedrive(ctx, st, req)
	if err != nil {
		return err
	}
	ans := map[string]any{"dry_run": req.DryRun, "matched": plan.Matched, "refused": plan.Refused, "count": plan.Count}
	if !req.DryRun && plan.Count > 0 {
		rd, err := ingress.StartRedrive(ctx, tc, taskQueue, req, plan, "cli", actor, time.Now())
		if err != nil {
			return err
		}
		ans["redrive_id"], ans["workflow_id"] = rd.ID, rd.WorkflowID
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(ans)
}

// parseRedrive reads the command's flags into a request.
func parseRedrive(args []string, out io.Writer) (ingress.RedriveRequest, error) {
	var req ingress.RedriveRequest
	if len(args) == 0 || (args[0] != "start" && args[0] != "count") {
		return req, errors.New(RedriveUsage)
	}
	req.DryRun = args[0] == "count"
	args = args[1:]
	fs := flag.NewFlagSet("redrive", flag.ContinueOnError)
	fs.SetOutput(out)
	deliveries := fs.String("delivery", "", "")
	statuses := fs.String("status", "", "")
	orders := fs.String("orders", "", "")
	invoices := fs.String("invoices", "", "")
	from := fs.String("from", "", "")
	to := fs.String("to", "", "")
	rate := fs.Float64("rate", ingress.DefaultRedriveRate, "")
	fs.StringVar(&req.WebhookID, "webhook", "", "")
	fs.StringVar(&req.ProfileID, "profile", "", "")
	fs.StringVar(&req.Reason, "reason", "", "")
	fs.StringVar(&req.RequestID, "request-id", "", "")
	fs.BoolVar(&req.Force, "force", false, "")
	fs.Usage = func() { _, _ = fmt.Fprintln(out, RedriveUsage) }
	if err := fs.Parse(args); err != nil {
		return req, err
	}
	if fs.NArg() > 0 {
		return req, errors.New(RedriveUsage)
	}
	req.DeliveryIDs, req.Statuses, req.OrderIDs, req.InvoiceIDs = list(*deliveries), list(*statuses), list(*orders), list(*invoices)
	req.RatePerSecond = rate
	for _, t := range []struct {
		flag string
		in   string
		out  *time.Time
	}{{"from", *from, &req.From}, {"to", *to, &req.To}} {
		if t.in == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.in)
		if err != nil {
			return req, fmt.Errorf("-%s must be an RFC 3339 time", t.flag)
		}
		*t.out = v
	}
	return req, nil
}

func list(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// cliActor names the operator running the CLI in the audit: user@host.
func cliActor() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}
