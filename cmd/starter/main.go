// Command starter runs orderflow's HTTP server (configuration API and
// ingress); with `schedule …` it manages the tracking sweep's Schedule, with
// `redrive …` it sends recorded webhook deliveries again, with `recovery
// restart …` it restarts a closed revenue recovery, with `endpoint …` it shows
// or re-enables an outgoing webhook endpoint's circuit breaker, and with `deploy …` it
// manages the workers' deployment versions (docs/deploys.md).
package main

import (
	"context"
	"flag"
	"os"

	"go.uber.org/zap"

	"orderflow/cmd/internal/cli"
	"orderflow/config"
	"orderflow/starter"
	"orderflow/worker"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "schedule" {
		os.Args = append(os.Args[:1], os.Args[2:]...)
		cli.Main("starter schedule", func(ctx context.Context, cfg config.Config, logger *zap.Logger) error {
			return starter.ScheduleCommand(ctx, cfg, logger, flag.Args(), os.Stdout)
		})
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "redrive" {
		os.Args = append(os.Args[:1], os.Args[2:]...)
		cli.Main("starter redrive", func(ctx context.Context, cfg config.Config, logger *zap.Logger) error {
			return starter.RedriveCommand(ctx, cfg, logger, flag.Args(), os.Stdout)
		})
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "endpoint" {
		os.Args = append(os.Args[:1], os.Args[2:]...)
		cli.Main("starter endpoint", func(ctx context.Context, cfg config.Config, logger *zap.Logger) error {
			return starter.EndpointCommand(ctx, cfg, logger, flag.Args(), os.Stdout)
		})
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "deploy" {
		os.Args = append(os.Args[:1], os.Args[2:]...)
		cli.Main("starter deploy", func(ctx context.Context, cfg config.Config, logger *zap.Logger) error {
			return worker.DeployCommand(ctx, cfg, logger, flag.Args(), os.Stdout)
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
