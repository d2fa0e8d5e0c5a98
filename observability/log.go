// Package observability holds what every orderflow process shares for being
// watched: the zap JSON logger (also the Temporal SDK's logger), Prometheus
// metrics and the /metrics + /healthz server.
package observability

import (
	"io"
	"os"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NewLogger builds a JSON logger at level ("debug", "info", "warn", "error") writing to w
// (stderr when nil).
func NewLogger(level string, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	if w == nil {
		w = os.Stderr
	}
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "ts"
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(w), lvl)
	return zap.New(core, zap.AddCaller()), nil
}

// TemporalLogger adapts zap to the Temporal SDK's key-value logger, so SDK and
// workflow logs come out as the same JSON lines as ours.
func TemporalLogger(l *zap.Logger) log.Logger {
	return temporalLogger{l.WithOptions(zap.AddCallerSkip(1)).Sugar()}
}

type temporalLogger struct{ s *zap.SugaredLogger }

func (t temporalLogger) Debug(msg string, kv ...any) { t.s.Debugw(msg, kv...) }
func (t temporalLogger) Info(msg string, kv ...any)  { t.s.Infow(msg, kv...) }
func (t temporalLogger) Warn(msg string, kv ...any)  { t.s.Warnw(msg, kv...) }
func (t temporalLogger) Error(msg string, kv ...any) { t.s.Errorw(msg, kv...) }

// With implements log.WithLogger so workflow loggers carry their IDs cheaply.
func (t temporalLogger) With(kv ...any) log.Logger { return temporalLogger{t.s.With(kv...)} }

var _ log.WithLogger = temporalLogger{}
