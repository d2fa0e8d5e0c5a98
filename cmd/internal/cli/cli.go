// Package cli is the shared start-up of orderflow's binaries: flags, config,
// logger and signal handling.
package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"orderflow/config"
	"orderflow/observability"
)

// Main loads the config named by -config (or ORDERFLOW_CONFIG), builds the
// logger and runs fn until SIGINT/SIGTERM. A bad config exits 2 naming the key.
func Main(name string, fn func(ctx context.Context, cfg config.Config, logger *zap.Logger) error) {
	path := flag.String("config", os.Getenv("ORDERFLOW_CONFIG"), "path to the YAML config file")
	flag.Parse()
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: refusing to start: %v\n", name, err)
		os.Exit(2)
	}
	logger, err := observability.NewLogger(cfg.Log.Level, nil)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	logger = logger.With(zap.String("process", name))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := fn(ctx, cfg, logger); err != nil {
		logger.Error("exiting", zap.Error(err))
		_ = logger.Sync()
		os.Exit(1)
	}
	_ = logger.Sync()
}
