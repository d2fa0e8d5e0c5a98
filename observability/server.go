package observability

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HealthCheck reports whether a dependency is reachable; nil means healthy.
type HealthCheck func(ctx context.Context) error

// HealthTimeout bounds a /healthz answer: the checks run at once under this
// deadline, so a dependency that does not answer (the store's driver would
// otherwise wait out its server-selection timeout) is reported within two
// seconds, as probes expect.
const HealthTimeout = 1500 * time.Millisecond

// AdminMux serves /metrics from m and /healthz, which answers 503 while any check fails.
func AdminMux(m *Metrics, checks map[string]HealthCheck) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if failed := failingChecks(r.Context(), checks); len(failed) > 0 {
			// The dependency's name is enough for ops; the error may hold a URI.
			w.Header().Set("Retry-After", "5")
			http.Error(w, failed[0]+" unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// failingChecks runs every check at once and returns the names of those
// that failed, sorted. A check still running at HealthTimeout counts as
// failed: the answer never waits on a dependency that ignores its deadline.
func failingChecks(ctx context.Context, checks map[string]HealthCheck) []string {
	ctx, cancel := context.WithTimeout(ctx, HealthTimeout)
	defer cancel()
	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(checks)) // buffered: a late check never blocks
	for name, check := range checks {
		go func() { results <- result{name, check(ctx)} }()
	}
	pending := map[string]bool{}
	for name := range checks {
		pending[name] = true
	}
	var failed []string
	for len(pending) > 0 {
		select {
		case res := <-results:
			delete(pending, res.name)
			if res.err != nil {
				failed = append(failed, res.name)
			}
		case <-ctx.Done():
			for name := range pending {
				failed = append(failed, name)
			}
			pending = nil
		}
	}
	slices.Sort(failed)
	return failed
}
