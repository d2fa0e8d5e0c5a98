// Package starter is the client side of orderflow: the HTTP server (ingress,
// configuration API and the codec server for the Temporal UI and CLI) and the
// tracking sweep's Schedule commands.
package starter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"orderflow/config"
	"orderflow/ingress"
	"orderflow/observability"
	"orderflow/store"
	"orderflow/temporalclient"
)

// Serve runs the HTTP server until ctx is done, then drains it.
func Serve(ctx context.Context, cfg config.Config, logger *zap.Logger) error {
	// Every store operation a request makes is bounded, so a store outage is
	// a quick 503 (see ingress.StoreTimeout).
	st, err := store.Connect(ctx, cfg.Mongo.URI, cfg.Mongo.Database, cfg.Mongo.ConnectTimeout,
		store.OperationTimeout(ingress.StoreTimeout))
	if err != nil {
		return err
	}
	defer func() { _ = st.Close(context.Background()) }()
	if err := ensureIndexes(ctx, st); err != nil {
		return err
	}
	metrics := observability.NewMetrics()
	tc, err := temporalclient.Dial(cfg.Temporal, logger, metrics)
	if err != nil {
		return err
	}
	defer tc.Close()

	api := ingress.Router(ingress.Deps{
		Store: st, Temporal: tc, TaskQueue: cfg.Temporal.TaskQueue, APIKey: cfg.HTTP.APIKey,
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes, Logger: logger, Metrics: metrics,
		Push: cfg.Push, Breaker: cfg.Delivery.Breaker,
	})
	handler, err := WithCodecServer(api, cfg, logger, metrics)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              cfg.HTTP.Listen,
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Info("starter serving", zap.String("listen", cfg.HTTP.Listen))
	select {
	case err := <-errc:
		return fmt.Errorf("starter: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// indexBuildTimeout bounds the index builds at start: on a large orders
// collection they take minutes, far beyond the per-request bound, which a
// context deadline overrides.
const indexBuildTimeout = time.Hour

func ensureIndexes(ctx context.Context, st *store.Store) error {
	ctx, cancel := context.WithTimeout(ctx, indexBuildTimeout)
	defer cancel()
	return st.EnsureIndexes(ctx)
}
