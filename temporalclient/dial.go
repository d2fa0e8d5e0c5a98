// Package temporalclient dials Temporal the same way in every orderflow process.
package temporalclient

import (
	"fmt"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"orderflow/config"
	"orderflow/observability"
)

// Dial connects to the configured frontend with the zap logger as the SDK's logger.
func Dial(cfg config.Temporal, logger *zap.Logger) (client.Client, error) {
	c, err := client.Dial(client.Options{
		HostPort:  cfg.Address,
		Namespace: cfg.Namespace,
		Logger:    observability.TemporalLogger(logger),
	})
	if err != nil {
		return nil, fmt.Errorf("temporal: dial %s: %w", cfg.Address, err)
	}
	return c, nil
}
