// Command worker runs orderflow's Temporal worker.
package main

import (
	"context"

	"go.uber.org/zap"

	"orderflow/cmd/internal/cli"
	"orderflow/config"
	"orderflow/worker"
)

// buildID is this build's Worker Deployment version, linked in by make, the
// Dockerfile and the Helm chart's image build: -ldflags "-X main.buildID=<revision>".
// worker.build_id overrides it.
var buildID string

func main() {
	cli.Main("worker", func(ctx context.Context, cfg config.Config, logger *zap.Logger) error {
		if cfg.Worker.BuildID == "" {
			cfg.Worker.BuildID = buildID
		}
		return worker.Run(ctx, cfg, logger)
	})
}
