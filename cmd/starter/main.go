// Command starter runs orderflow's HTTP server (configuration API and
// ingress), with `schedule …` manages the tracking sweep's Schedule, and with
// `recovery restart …` restarts a closed revenue recovery.
package main

import (
	"context"
	"flag"
	"os"

	"go.uber.org/zap"

	"orderflow/cmd/internal/cli"
	"orderflow/config"
	"orderflow/starter"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "schedule" {
		os.Args = append(os.Args[:1], os.Args[2:]...)
		cli.Main("starter schedule", func(ctx context.Context, cfg config.Config, logger *zap.Logger) error {
			return starter.ScheduleCommand(ctx, cfg, logger, flag.Args(), os.Stdout)
		})
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "recovery" {
		os.Args = append(os.Args[:1], os.Args[2:]...)
		cli.Main("starter recovery", func(ctx context.Context, cfg config.Config, logger *zap.Logger) error {
			return starter.RecoveryCommand(ctx, cfg, logger, flag.Args(), os.Stdout)
		})
		return
	}
	cli.Main("starter", starter.Serve)
}
