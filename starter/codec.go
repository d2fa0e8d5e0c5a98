package starter

import (
	"net/http"

	"go.uber.org/zap"

	"orderflow/config"
	"orderflow/observability"
	"orderflow/temporalclient"
	"orderflow/temporalclient/codec"
)

// CodecPath is where the starter serves the codec server: the Temporal UI's
// --ui-codec-endpoint and the CLI's --codec-endpoint are
// http(s)://<http.listen>/codec, to which they add /encode and /decode.
const CodecPath = "/codec"

// WithCodecServer serves the codec server at CodecPath next to api when
// temporal.codec.server.enabled is set; otherwise api alone.
func WithCodecServer(api http.Handler, cfg config.Config, logger *zap.Logger, metrics *observability.Metrics) (http.Handler, error) {
	s := cfg.Temporal.Codec.Server
	if !s.Enabled {
		return api, nil
	}
	c, err := temporalclient.NewCodec(cfg.Temporal.Codec, logger, metrics)
	if err != nil {
		return nil, err
	}
	token, err := s.ReadToken()
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(CodecPath+"/", codec.NewServer(c, codec.ServerOptions{
		Namespace: cfg.Temporal.Namespace, Token: token, AllowedOrigins: s.AllowedOrigins, Logger: logger,
	}))
	mux.Handle("/", api)
	logger.Info("codec server enabled", zap.String("path", CodecPath), zap.Bool("token_required", token != ""),
		zap.Strings("allowed_origins", s.AllowedOrigins))
	return mux, nil
}
