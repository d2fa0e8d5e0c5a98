// Package temporalclient dials Temporal the same way in every orderflow
// process: address and namespace, TLS with the configured or the system's
// CAs, an mTLS client certificate and a Temporal Cloud API key, each re-read
// from its file when the file changes, so rotating them needs no restart; and
// the payload codec (package codec) that encrypts what orderflow hands Temporal.
package temporalclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"orderflow/config"
	"orderflow/observability"
	"orderflow/temporalclient/codec"
)

// Dial connects to the configured frontend with the zap logger as the SDK's
// logger and, when metrics is not nil, the SDK's metrics on its registry.
func Dial(cfg config.Temporal, logger *zap.Logger, metrics *observability.Metrics) (client.Client, error) {
	opts, err := options(cfg, logger, metrics)
	if err != nil {
		return nil, err
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
		return nil, dialError(cfg, opts.ConnectionOptions.TLS, err)
	}
	return c, nil
}

// dialError explains a failed dial. gRPC often reports a TLS refusal as a
// broken pipe (it writes before the server's alert arrives), so when TLS is
// on, a handshake of our own asks the frontend what it objects to.
func dialError(cfg config.Temporal, tc *tls.Config, err error) error {
	if tc != nil {
		if reason := probeTLS(tc, cfg); reason != nil {
			return fmt.Errorf("temporal: dial %s: the TLS handshake failed: %w%s", cfg.Address, reason, connectionHint(cfg, reason))
		}
	}
	return fmt.Errorf("temporal: dial %s%s: %w", cfg.Address, connectionHint(cfg, err), err)
}

// probeTLS completes a TLS handshake with the frontend and waits briefly for
// its verdict on the client certificate (in TLS 1.3 an alert after the
// handshake). nil means the frontend accepted the connection.
func probeTLS(tc *tls.Config, cfg config.Temporal) error {
	probe := tc.Clone()
	probe.NextProtos = []string{"h2"}
	if probe.ServerName == "" {
		probe.ServerName = serverName(cfg)
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", cfg.Address, probe)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	_, err = conn.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		return nil // the frontend waits for the HTTP/2 preface: TLS is fine
	}
	return err
}

// Options are the SDK client options for cfg: everything but metrics. They
// read the certificate, CA bundle, API key and codec keys now, so a bad one
// fails here.
func Options(cfg config.Temporal, logger *zap.Logger) (client.Options, error) {
	return options(cfg, logger, nil)
}

func options(cfg config.Temporal, logger *zap.Logger, metrics *observability.Metrics) (client.Options, error) {
	c, err := NewCodec(cfg.Codec, logger, metrics)
	if err != nil {
		return client.Options{}, err
	}
	dc := codec.DataConverter(c)
	opts := client.Options{
		HostPort:         cfg.Address,
		Namespace:        cfg.Namespace,
		Logger:           observability.TemporalLogger(logger),
		DataConverter:    dc,
		FailureConverter: codec.FailureConverter(c, dc),
	}
	tlsCfg, err := tlsConfig(cfg, logger)
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal: %w", err)
	}
	opts.ConnectionOptions.TLS = tlsCfg
	if cfg.HasAPIKey() {
		key, err := newReloader("API key", optional(cfg.APIKeyFile), cfg.ReadAPIKey, logger)
		if err != nil {
			return client.Options{}, fmt.Errorf("temporal: %w", err)
		}
		opts.Credentials = client.NewAPIKeyDynamicCredentials(func(context.Context) (string, error) {
			return key.get(), nil
		})
	}
	return opts, nil
}

// tlsConfig is nil (plaintext) unless TLS is configured.
func tlsConfig(cfg config.Temporal, logger *zap.Logger) (*tls.Config, error) {
	if !cfg.On() {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TLS.ServerName}
	if cfg.TLS.MTLS() {
		pair, err := newReloader("client certificate", optional(cfg.TLS.CertFile, cfg.TLS.KeyFile),
			func() (tls.Certificate, error) { return cfg.TLS.ClientCertificate(time.Now()) }, logger)
		if err != nil {
			return nil, err
		}
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c := pair.get()
			return &c, nil
		}
	}
	roots, err := newReloader("CA bundle", optional(cfg.TLS.CAFile), cfg.TLS.RootCAs, logger)
	if err != nil {
		return nil, err
	}
	if cfg.TLS.CAFile == "" {
		tc.RootCAs = roots.get() // inline or the system's: they cannot change
		return tc, nil
	}
	// Go's TLS client reads RootCAs once, so a rotated CA file is honoured by
	// verifying the chain ourselves on every handshake (the pattern of
	// crypto/tls's VerifyConnection example) against the bundle as it is now.
	name := serverName(cfg)
	tc.InsecureSkipVerify = true
	tc.VerifyConnection = func(cs tls.ConnectionState) error {
		return verifyChain(cs, roots.get(), name)
	}
	return tc, nil
}

// serverName is the name the frontend's certificate must carry.
func serverName(cfg config.Temporal) string {
	if cfg.TLS.ServerName != "" {
		return cfg.TLS.ServerName
	}
	host, _, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		return cfg.Address
	}
	return host
}

// optional drops empty paths: a value given inline has no file to watch.
func optional(paths ...string) []string {
	var out []string
	for _, p := range paths {
		if p != "" {
			out = append(out, p)
		}
	}
	if len(out) != len(paths) {
		return nil // partly inline: nothing to watch for the inline half, reload neither
	}
	return out
}

// connectionHint says which keys to check when the dial failed in TLS.
func connectionHint(cfg config.Temporal, err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "certificate required") || strings.Contains(msg, "bad certificate") ||
		strings.Contains(msg, "unknown certificate authority"):
		if cfg.TLS.MTLS() {
			return " (the frontend rejected the client certificate: temporal.tls.cert_file must be signed by a CA the frontend trusts for clients, and be valid now)"
		}
		return " (the frontend requires a client certificate: set temporal.tls.cert_file and temporal.tls.key_file)"
	case strings.Contains(msg, "x509:") || strings.Contains(msg, "tls: failed to verify"):
		return " (the frontend's certificate does not verify: check temporal.tls.ca_file and temporal.tls.server_name)"
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return " (the frontend does not speak TLS: remove the temporal.tls and temporal.api_key keys)"
	case !cfg.On() && (strings.Contains(msg, "EOF") || strings.Contains(msg, "connection reset")):
		return " (the frontend may require TLS: see temporal.tls.enabled)"
	}
	return ""
}
