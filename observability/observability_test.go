package observability

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, m *Metrics, path string, checks map[string]HealthCheck) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	AdminMux(m, checks).ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	body, _ := io.ReadAll(rec.Body)
	return rec.Code, string(body)
}

func TestMetricsExposeBusinessAndTemporalSDKCounters(t *testing.T) {
	m := NewMetrics()
	m.FirstRTOClaims.WithLabelValues("won").Inc()
	h, err := m.TemporalMetricsHandler()
	if err != nil {
		t.Fatal(err)
	}
	h.Counter("temporal_request").Inc(3)
	code, body := scrape(t, m, "/metrics", nil)
	if code != 200 {
		t.Fatalf("/metrics answered %d", code)
	}
	for _, want := range []string{`orderflow_first_rto_claims_total{outcome="won"} 1`, "temporal_request", "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestHealthzFailsWhileADependencyIsDown(t *testing.T) {
	m := NewMetrics()
	down := map[string]HealthCheck{"mongo": func(context.Context) error { return errors.New("dial mongodb://user:pw@db") }}
	code, body := scrape(t, m, "/healthz", down)
	if code != 503 || !strings.Contains(body, "mongo") || strings.Contains(body, "pw@") {
		t.Errorf("got %d %q; want 503 naming mongo without the error text", code, body)
	}
	up := map[string]HealthCheck{"mongo": func(context.Context) error { return nil }}
	if code, _ := scrape(t, m, "/healthz", up); code != 200 {
		t.Errorf("healthy: got %d", code)
	}
}

func TestHealthzAnswersWithinItsDeadlineWhenACheckHangs(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	checks := map[string]HealthCheck{
		"mongo":    func(context.Context) error { <-release; return nil }, // ignores its deadline
		"temporal": func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
	}
	start := time.Now()
	code, body := scrape(t, NewMetrics(), "/healthz", checks)
	if took := time.Since(start); took > HealthTimeout+500*time.Millisecond {
		t.Errorf("/healthz took %v, want about %v", took, HealthTimeout)
	}
	if code != 503 || !strings.Contains(body, "mongo unavailable") {
		t.Errorf("got %d %q; want 503 naming mongo", code, body)
	}
}

func TestTemporalLoggerWritesJSONWithKeyValues(t *testing.T) {
	var buf bytes.Buffer
	l, err := NewLogger("info", &buf)
	if err != nil {
		t.Fatal(err)
	}
	tl := TemporalLogger(l)
	tl.Debug("hidden at info")
	tl.Info("claimed", "order_id", "o1")
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &line); err != nil {
		t.Fatalf("not one JSON line: %q", buf.String())
	}
	if line["msg"] != "claimed" || line["order_id"] != "o1" || line["level"] != "info" {
		t.Errorf("line %v", line)
	}
	if _, err := NewLogger("loud", nil); err == nil {
		t.Error("bad level accepted")
	}
}

// Rare-event series are on /metrics at zero before anything happened, so an
// alert's increase() sees their first event.
func TestRareEventSeriesStartAtZero(t *testing.T) {
	m := NewMetrics()
	m.ZeroCourierSeries([]string{"delhivery"})
	if _, err := m.TemporalMetricsHandler(); err != nil {
		t.Fatal(err)
	}
	_, body := scrape(t, m, "/metrics", nil)
	for _, want := range []string{
		`orderflow_courier_rate_limited_total{code="429",courier="delhivery"} 0`,
		`orderflow_courier_calls_total{courier="delhivery",outcome="error"} 0`,
		`orderflow_courier_unknown_statuses_total{courier="delhivery"} 0`,
		"temporal_workflow_task_execution_failed 0",
		"temporal_sticky_cache_total_forced_eviction 0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
