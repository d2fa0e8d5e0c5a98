// Package worker assembles the worker process: New builds every worker the
// process runs (the main task queue and one rate-limited worker per courier
// task queue) and registers every workflow and activity; Run adds the Mongo
// and Temporal connections and serves /metrics and /healthz.
package worker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"orderflow/activities"
	"orderflow/config"
	"orderflow/delivery"
	"orderflow/observability"
	"orderflow/store"
	"orderflow/temporalclient"
	"orderflow/webhook"
)

// mainOptions are the main task queue worker's options, the same in the
// binary, the tests and the bench (all build workers through New). The SDK's defaults (two pollers of each
// kind) are deliberate: autoscaling pollers (1 to 100) doubled the parallel
// work on two cores and made every first RTO as slow as the whole burst (claim
// → CRM 2xx p95 16 s instead of 0.24 s, make bench), with no gain in the time
// the burst took to drain.
func mainOptions() sdkworker.Options {
	return sdkworker.Options{}
}

// NewActivities builds the activities' dependencies from config.
func NewActivities(st *store.Store, cfg config.CRM, m *observability.Metrics) *activities.Activities {
	return &activities.Activities{
		Store:                    st,
		Push:                     st,
		Webhooks:                 delivery.NewSender(delivery.Options{Timeout: cfg.RequestTimeout}),
		Tokens:                   webhook.NewTokens(nil, webhook.TokenOptions{Timeout: cfg.TokenTimeout, DefaultTTL: cfg.TokenDefaultTTL}),
		Metrics:                  m,
		MarketplaceLookupTimeout: cfg.MarketplaceLookupTimeout,
	}
}

// Run connects to Mongo and Temporal and works until ctx is done.
func Run(ctx context.Context, cfg config.Config, logger *zap.Logger) error {
	if err := CheckDeployment(cfg.Worker.WorkerDeployment); err != nil {
		return err
	}
	st, err := store.Connect(ctx, cfg.Mongo.URI, cfg.Mongo.Database, cfg.Mongo.ConnectTimeout)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close(context.Background()) }()
	if err := st.EnsureIndexes(ctx); err != nil {
		return err
	}
	metrics := observability.NewMetrics()
	tc, err := temporalclient.Dial(cfg.Temporal, logger, metrics)
	if err != nil {
		return err
	}
	defer tc.Close()

	workers := New(Deps{Config: cfg, Store: st, Temporal: tc, Metrics: metrics})

	admin := &http.Server{
		Addr:              cfg.Worker.MetricsListen,
		Handler:           observability.AdminMux(metrics, healthChecks(st, tc)),
		ReadHeaderTimeout: 5 * time.Second,
	}
	adminErr := make(chan error, 1)
	go func() { adminErr <- admin.ListenAndServe() }()
	defer func() { _ = admin.Shutdown(context.Background()) }()

	if err := workers.Start(); err != nil {
		return err
	}
	defer workers.Stop()
	logger.Info("worker started", zap.String("task_queue", cfg.Temporal.TaskQueue), zap.String("metrics", cfg.Worker.MetricsListen),
		zap.Bool("versioning", cfg.Worker.Versioning), zap.String("deployment", cfg.Worker.DeploymentName),
		zap.String("build_id", cfg.Worker.BuildID))
	if !cfg.NetworkRules.Enabled {
		// Off, revenue recovery charges cards the networks may fine the merchant for: say so at every start.
		logger.Warn("card-network rules are OFF (network_rules.enabled=false): revenue-recovery charges ignore Visa's and Mastercard's retry limits and never-retry codes")
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-adminErr:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("worker: metrics server: %w", err)
	}
}

func healthChecks(st *store.Store, tc client.Client) map[string]observability.HealthCheck {
	return map[string]observability.HealthCheck{
		"mongo": st.Ping,
		"temporal": func(ctx context.Context) error {
			_, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		},
	}
}
