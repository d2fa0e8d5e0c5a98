package temporalclient

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"orderflow/config"
	"orderflow/observability"
	"orderflow/temporalclient/codec"
)

// DecodeFailuresMetric counts payloads the codec could not decrypt, by key id
// and reason: a non-zero rate means a key was removed from temporal.codec.keys
// while histories still need it (docs/encryption.md).
const DecodeFailuresMetric = "orderflow_codec_decode_failures_total"

// NewCodec builds the payload codec cfg describes. Every client gets one, even
// with encryption off and no key listed: an encrypted payload then fails
// loudly, naming its key id, instead of reaching code as ciphertext. Each
// payload it cannot decrypt is logged and, when metrics is not nil, counted.
func NewCodec(cfg config.Codec, logger *zap.Logger, metrics *observability.Metrics) (*codec.Codec, error) {
	keys, active := map[string][]byte{}, ""
	if cfg.Enabled || cfg.HasKeys() {
		var err error
		if keys, active, err = cfg.ReadKeys(); err != nil {
			return nil, fmt.Errorf("temporal: %w", err)
		}
	}
	failures, err := decodeFailures(metrics)
	if err != nil {
		return nil, err
	}
	return codec.New(keys, active, codec.Options{
		Encrypt: cfg.Enabled,
		OnDecodeError: func(e *codec.DecodeError) {
			logger.Error("temporal: a payload cannot be decrypted; the task fails and is retried until its key is listed",
				zap.String("key_id", e.KeyID), zap.String("reason", e.Reason))
			if failures != nil {
				failures.WithLabelValues(e.KeyID, e.Reason).Inc()
			}
		},
	})
}

// decodeFailures registers the decode-failure counter on metrics' registry,
// or finds it there when another client of the process registered it.
func decodeFailures(metrics *observability.Metrics) (*prometheus.CounterVec, error) {
	if metrics == nil {
		return nil, nil
	}
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: DecodeFailuresMetric, Help: "Payloads the codec could not decrypt, by key id and reason.",
	}, []string{"key_id", "reason"})
	// The one series known in advance starts at zero (a payload with no key id
	// carries no key_id label), so the counter is on /metrics from the start
	// and an alert's increase() sees the first failure.
	c.WithLabelValues("", codec.ReasonNoKeyID)
	if err := metrics.Registry.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			if existing, ok := already.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, fmt.Errorf("temporal: register %s: %w", DecodeFailuresMetric, err)
	}
	return c, nil
}
