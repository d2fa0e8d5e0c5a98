//go:build integration

package tests

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"orderflow/dev/sandbox/billing"
	"orderflow/dev/sandbox/payments"
	"orderflow/observability"
	"orderflow/recovery"
	"orderflow/temporalclient"
	"orderflow/tracking"
	"orderflow/worker"
	"orderflow/workflows"
)

const (
	chartDir      = "../deploy/helm/orderflow"
	dashboardFile = chartDir + "/dashboards/orderflow.json"
)

// Every metric the Grafana dashboard and the chart's alert rules read is on
// the worker's or the starter's /metrics after an RTO, a push and a recovery:
// a renamed metric cannot leave a panel blank or an alert silent unnoticed.
func TestDashboardAndAlertMetricsAreExported(t *testing.T) {
	r := newRecoveryStack(t)
	workerMetrics := r.startWorkerWithMetrics()
	r.setup(seconds)
	r.configureRTOWebhook()

	reported := r.insertOrder("9876515001", 1499)
	r.waitWorkflow(r.report(reported, tracking.RTO, base), nil)
	r.waitWorkflow(workflows.RTOCancelWorkflowID(reported), nil)
	pushed := r.insertOrder("9876515002", 999)
	id, _ := r.clickpost(cpBody(r.awbOf(pushed), 21, base, map[string]any{"notification_event_id": 7, "is_rvp": nil}))
	r.waitPush(id)
	r.waitWorkflow(workflows.RTOCancelWorkflowID(pushed), nil)
	if n := len(r.crm.Received()); n != 2 {
		t.Fatalf("CRM received %d POSTs, want 2", n)
	}

	inv := r.invoice("inv_dashboard")
	r.processor.Script(inv.PaymentMethod, payments.Outcome{Kind: payments.Decline, DeclineCode: "insufficient_funds"})
	if code := r.send(recovery.StripeBilling, billing.Failed, inv); code != 200 {
		t.Fatalf("billing webhook answered %d", code)
	}
	var res workflows.RecoveryResult
	r.waitWorkflow(workflows.RevenueRecoveryWorkflowID(r.profileID, inv.ID), &res)
	if res.Status != workflows.RecoverySucceededInternal {
		t.Fatalf("recovery ended %+v", res)
	}

	referenced := referencedMetrics(t)
	if len(referenced) < 20 {
		t.Fatalf("only %d metrics referenced: %v", len(referenced), referenced)
	}
	// The SDK's gauges are reported on its own ticks: wait a little for them.
	deadline := time.Now().Add(30 * time.Second)
	for {
		exported := scrapeNames(t, workerMetrics+"/metrics") + scrapeNames(t, r.api.URL+"/metrics")
		var missing []string
		for _, m := range referenced {
			if !strings.Contains(exported, "\n"+m+"\n") {
				missing = append(missing, m)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("referenced by the dashboard or the alert rules but on neither /metrics: %v\nexported:%s", missing, exported)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startWorkerWithMetrics runs the stack's workers as the worker binary does:
// one metrics registry for orderflow's counters and the SDK's, served with
// /healthz by the admin mux. It returns the admin server's URL.
func (s *stack) startWorkerWithMetrics() string {
	s.t.Helper()
	logger, err := observability.NewLogger("debug", s.logs)
	if err != nil {
		s.t.Fatal(err)
	}
	metrics := observability.NewMetrics()
	tc, err := temporalclient.Dial(s.cfg.Temporal, logger, metrics)
	if err != nil {
		s.t.Fatal(err)
	}
	ws := worker.New(worker.Deps{Config: s.cfg, Store: s.store, Temporal: tc, Metrics: metrics})
	if err := ws.Start(); err != nil {
		tc.Close()
		s.t.Fatal(err)
	}
	admin := httptest.NewServer(observability.AdminMux(metrics, nil))
	s.stopWorker = func() { admin.Close(); ws.Stop(); tc.Close() }
	return admin.URL
}

var (
	referencedName = regexp.MustCompile(`\b(?:orderflow|temporal)_[a-z_]+`)
	seriesSuffix   = regexp.MustCompile(`_(?:bucket|sum|count)$`)
)

// referencedMetrics lists, sorted and once each, the metric names the
// dashboard's queries and the rendered PrometheusRule's expressions read.
func referencedMetrics(t *testing.T) []string {
	t.Helper()
	var exprs []string
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			exprs = append(exprs, target.Expr)
		}
	}
	rule, err := exec.Command("../bin/helm", "template", "orderflow", chartDir, "--set", "prometheusRule.enabled=true",
		"--show-only", "templates/prometheusrule.yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("helm template (make bin/helm): %v\n%s", err, rule)
	}
	for _, line := range strings.Split(string(rule), "\n") {
		if !strings.Contains(line, "summary:") { // annotations name labels, not metrics
			exprs = append(exprs, line)
		}
	}
	var names []string
	for _, e := range exprs {
		for _, m := range referencedName.FindAllString(e, -1) {
			names = append(names, seriesSuffix.ReplaceAllString(m, ""))
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// scrapeNames returns the metric names of one /metrics page, one per line
// between newlines: every sample's name, and a histogram's once more without
// its _bucket, _sum or _count suffix.
func scrapeNames(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(strings.Fields(line)[0], "{")
		names[name], names[seriesSuffix.ReplaceAllString(name, "")] = true, true
	}
	out := "\n"
	for _, n := range slices.Sorted(maps.Keys(names)) {
		out += n + "\n"
	}
	return out
}
