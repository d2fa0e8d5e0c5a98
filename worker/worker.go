// Package worker assembles the worker process: it registers every workflow
// and activity on the task queue and serves /metrics and /healthz.
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
	"orderflow/observability"
	"orderflow/store"
	"orderflow/temporalclient"
	"orderflow/webhook"
	"orderflow/workflows"
)

// Options are the main task queue worker's options, shared with the bench so
// it measures what runs in production. The SDK's defaults (two pollers of each
// kind) are deliberate: autoscaling pollers (1 to 100) doubled the parallel
// work on two cores and made every first RTO as slow as the whole burst (claim
// → CRM 2xx p95 16 s instead of 0.24 s, make bench), with no gain in the time
// the burst took to drain.
func Options() sdkworker.Options {
	return sdkworker.Options{}
}

// Register puts every workflow and the activities on w.
func Register(w sdkworker.Registry, acts *activities.Activities) {
	w.RegisterWorkflow(workflows.StatusUpdate)
	w.RegisterWorkflow(workflows.RTOCancel)
	w.RegisterWorkflow(workflows.PushIngest)
	w.RegisterWorkflow(workflows.RevenueRecovery)
	w.RegisterWorkflow(workflows.RecoveryIngest)
	w.RegisterActivity(acts)
}

// NewActivities builds the activities' dependencies from config.
func NewActivities(st *store.Store, cfg config.CRM, m *observability.Metrics) *activities.Activities {
	return &activities.Activities{
		Store: st,
		Push:  st,
		Webhooks: webhook.NewClient(nil, webhook.ClientOptions{
			RequestTimeout:  cfg.RequestTimeout,
			TokenTimeout:    cfg.TokenTimeout,
			TokenDefaultTTL: cfg.TokenDefaultTTL,
		}),
		Metrics:                  m,
		MarketplaceLookupTimeout: cfg.MarketplaceLookupTimeout,
	}
}

// Run connects to Mongo and Temporal and works until ctx is done.
func Run(ctx context.Context, cfg config.Config, logger *zap.Logger) error {
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

	sdkworker.SetStickyWorkflowCacheSize(cfg.Worker.StickyCacheSize) // process-wide: before any worker is created
	w := sdkworker.New(tc, cfg.Temporal.TaskQueue, Options())
	Register(w, NewActivities(st, cfg.CRM, metrics))
	w.RegisterActivity(NewRecoveryActivities(st, metrics))
	sweepActs := NewSweepActivities(st, cfg.Couriers, metrics)
	RegisterSweep(w, sweepActs)
	stopCouriers, err := StartCourierWorkers(NewCourierWorkers(tc, cfg.Temporal.TaskQueue, cfg.Couriers, sweepActs))
	if err != nil {
		return err
	}
	defer stopCouriers()

	admin := &http.Server{
		Addr:              cfg.Worker.MetricsListen,
		Handler:           observability.AdminMux(metrics, healthChecks(st, tc)),
		ReadHeaderTimeout: 5 * time.Second,
	}
	adminErr := make(chan error, 1)
	go func() { adminErr <- admin.ListenAndServe() }()
	defer func() { _ = admin.Shutdown(context.Background()) }()

	if err := w.Start(); err != nil {
		return fmt.Errorf("worker: start: %w", err)
	}
	defer w.Stop()
	logger.Info("worker started", zap.String("task_queue", cfg.Temporal.TaskQueue), zap.String("metrics", cfg.Worker.MetricsListen))
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
