// Package devstore embeds FerretDB, a MongoDB wire-protocol server, for `make
// run` and the integration tests on machines without MongoDB. Production
// binaries never import it: they talk to a real MongoDB.
package devstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Options configure the embedded store.
type Options struct {
	// Addr to listen on; "127.0.0.1:0" picks a free port.
	Addr string
	// Dir keeps SQLite data; it is created when missing. Ignored when PostgreSQLURL is set.
	Dir string
	// PostgreSQLURL switches to the PostgreSQL backend (much faster for large collections).
	PostgreSQLURL string
	// Logger for FerretDB; nil logs errors only (its warnings are per-request noise).
	Logger *slog.Logger
}

// Server is a running embedded store.
type Server struct {
	uri    string
	cancel context.CancelFunc
	done   chan error
}

// Start launches FerretDB and returns once it accepts connections.
func Start(opts Options) (*Server, error) {
	cfg := &ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: opts.Addr},
		Logger:   opts.Logger,
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	if opts.PostgreSQLURL != "" {
		cfg.Handler, cfg.PostgreSQLURL = "postgresql", opts.PostgreSQLURL
	} else {
		dir, err := filepath.Abs(opts.Dir)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("devstore: %w", err)
		}
		cfg.Handler, cfg.SQLiteURL = "sqlite", "file:"+dir+"/"
	}
	f, err := ferretdb.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("devstore: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{uri: f.MongoDBURI(), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- f.Run(ctx) }()
	return s, nil
}

// URI is the mongodb:// URI of the running server.
func (s *Server) URI() string { return s.uri }

// Stop shuts the server down and waits for it.
func (s *Server) Stop() error {
	s.cancel()
	if err := <-s.done; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
