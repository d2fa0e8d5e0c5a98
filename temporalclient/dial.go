// Package temporalclient dials Temporal the same way in every orderflow process.
package temporalclient

import (
	"fmt"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"orderflow/config"
	"orderflow/observability"
)

// Dial connects to the configured frontend with the zap logger as the SDK's
// logger and, when metrics is not nil, the SDK's metrics on its registry.
func Dial(cfg config.Temporal, logger *zap.Logger, metrics *observability.Metrics) (client.Client, error) {
	opts := client.Options{
		HostPort:  cfg.Address,
		Namespace: cfg.Namespace,
		Logger:    observability.TemporalLogger(logger),
	}
	if metrics != nil {
		h, err := metrics.TemporalMetricsHandler()
		if err != nil {
			return nil, fmt.Errorf("temporal: metrics: %w", err)
		}
		opts.MetricsHandler = h
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("temporal: dial %s: %w", cfg.Address, err)
	}
	return c, nil
}
