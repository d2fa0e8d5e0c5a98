package starter

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"go.uber.org/zap"

	"orderflow/activities"
	"orderflow/config"
	"orderflow/store"
	"orderflow/temporalclient"
	"orderflow/workflows"
)

// RecoveryUsage is `starter recovery`'s help.
const RecoveryUsage = `usage: starter recovery restart -profile ID -invoice ID -reason TEXT
  restart starts a new generation of an invoice's recovery that ended
  hard_declined, exhausted or network_limited (audited in recovery_restarts)`

// RecoveryCommand runs `starter recovery restart …`: the same restart as
// POST /v1/recoveries/{profile_id}/{invoice_id}/restart, audited with the
// operating system user who ran it.
func RecoveryCommand(ctx context.Context, cfg config.Config, logger *zap.Logger, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "restart" {
		return errors.New(RecoveryUsage)
	}
	fs := flag.NewFlagSet("restart", flag.ContinueOnError)
	fs.SetOutput(out)
	profile := fs.String("profile", "", "business profile id")
	invoice := fs.String("invoice", "", "invoice id (merchant_reference_id)")
	reason := fs.String("reason", "", "why the recovery is restarted (required, audited)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *profile == "" || *invoice == "" || strings.TrimSpace(*reason) == "" {
		return errors.New(RecoveryUsage)
	}
	st, err := store.Connect(ctx, cfg.Mongo.URI, cfg.Mongo.Database, cfg.Mongo.ConnectTimeout)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close(context.Background()) }()
	tc, err := temporalclient.Dial(cfg.Temporal, logger, nil)
	if err != nil {
		return err
	}
	defer tc.Close()
	restarter := &activities.Recovery{Store: st, Temporal: tc}
	res, err := restarter.RestartRecovery(ctx, activities.RestartRecoveryInput{
		WorkflowID: workflows.RevenueRecoveryWorkflowID(*profile, *invoice), ProfileID: *profile, InvoiceID: *invoice,
		TaskQueue: cfg.Temporal.TaskQueue, Trigger: activities.RestartByCLI, RequestedBy: "cli:" + os.Getenv("USER"),
		Reason: strings.TrimSpace(*reason),
	})
	if err != nil {
		return err
	}
	if res.Outcome != activities.RestartDone {
		return fmt.Errorf("restart refused: %s (recovery %s, status %q)", res.Outcome, res.WorkflowID, res.PriorStatus)
	}
	_, err = fmt.Fprintf(out, "recovery %s restarted: generation %d, run %s\n", res.WorkflowID, res.Generation, res.RunID)
	return err
}
