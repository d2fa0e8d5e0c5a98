package observability

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HealthCheck reports whether a dependency is reachable; nil means healthy.
type HealthCheck func(ctx context.Context) error

// AdminMux serves /metrics from m and /healthz, which answers 503 while any check fails.
func AdminMux(m *Metrics, checks map[string]HealthCheck) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		for name, check := range checks {
			if err := check(r.Context()); err != nil {
				// The dependency's name is enough for ops; the error may hold a URI.
				http.Error(w, name+" unavailable", http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}
