//go:build integration

package tests

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"orderflow/activities"
	"orderflow/config"
	"orderflow/workflows"
)

// endpointSwitch stands between orderflow and the sandbox CRM's cancel
// route: while down it answers code itself; up, it passes every POST on.
type endpointSwitch struct {
	down  atomic.Int32 // the status code answered while down; 0 is up
	posts atomic.Int32 // POSTs answered while down
}

func (s *stack) crmBehindSwitch(hookID string) *endpointSwitch {
	s.t.Helper()
	sw := &endpointSwitch{}
	target, err := url.Parse(s.crmURL)
	if err != nil {
		s.t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code := sw.down.Load(); code != 0 {
			sw.posts.Add(1)
			w.WriteHeader(int(code))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	s.t.Cleanup(srv.Close)
	goodURL := get[string](s.t, s.mustCall(200, "GET", "/v1/webhooks/"+hookID, nil), "url")
	s.setWebhookURL(hookID, strings.Replace(goodURL, s.crmURL, srv.URL, 1))
	return sw
}

// breakerSeconds scales the breaker to seconds: 2 failures open an endpoint,
// a probe a second, a fast drain.
func breakerSeconds(disableAfter time.Duration) func(*config.Config) {
	return func(c *config.Config) {
		c.Delivery.Breaker.FailureThreshold = 2
		c.Delivery.Breaker.HalfOpenInterval = time.Second
		c.Delivery.Breaker.DrainRatePerSecond = 20
		c.Delivery.Breaker.DisableAfter = disableAfter
	}
}

// opsWebhook records the operational events it receives.
type opsWebhook struct {
	mu     sync.Mutex
	events []map[string]any
}

func (o *opsWebhook) received() []map[string]any {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]map[string]any(nil), o.events...)
}

func newOpsWebhook(t *testing.T) (*opsWebhook, string) {
	o := &opsWebhook{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		raw, _ := io.ReadAll(r.Body)
		if json.Unmarshal(raw, &ev) == nil {
			o.mu.Lock()
			o.events = append(o.events, ev)
			o.mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return o, srv.URL + "/ops?token=ops-token-DISTINCT"
}

// parkRTO reports an order's first RTO and waits until its delivery record is parked.
func (s *stack) parkRTO(order, hookID string) string {
	s.t.Helper()
	s.waitWorkflow(s.report(order, "rto", base), nil)
	key := workflows.WebhookIdempotencyKey(order, hookID)
	eventually(s.t, 30*time.Second, "delivery "+key+" parked", func() bool {
		_, rec := s.call("GET", "/v1/delivery-records/"+key, nil)
		return rec["status"] == "parked"
	})
	return key
}

func (s *stack) endpointState(hookID string) map[string]any {
	s.t.Helper()
	st := s.mustCall(200, "GET", "/v1/endpoints/crm_webhook/"+hookID, nil)
	s.t.Logf("endpoint: %v", st)
	return st
}

// acceptedOrders are the order ids the CRM accepted, in order.
func (s *stack) acceptedOrders() []string {
	var out []string
	for _, r := range s.crm.Accepted() {
		id, _ := r.Body["order_id"].(string)
		out = append(out, id)
	}
	return out
}

// An endpoint answering 503 opens after two failures; deliveries to it park
// (the record says so and why) without spending attempts. When it answers
// 2xx again, a probe closes it and the rest drain oldest parking first, each
// delivered exactly once.
func TestParkedDeliveriesDrainOldestFirstAfterRecovery(t *testing.T) {
	// Two releases a second: the three parked after the probe drain as a
	// group of two, a timer, then one.
	s := newStack(t, breakerSeconds(time.Hour), func(c *config.Config) { c.Delivery.Breaker.DrainRatePerSecond = 2 })
	s.startWorker()
	hookID := s.configureRTOWebhook()
	sw := s.crmBehindSwitch(hookID)
	sw.down.Store(503)

	var orders, keys []string
	for i := range 4 {
		order := s.insertOrder("98765302"+string(rune('0'+i))+"0", 100)
		orders = append(orders, order)
		keys = append(keys, s.parkRTO(order, hookID))
	}
	// A probe's record is pending while its POST is out: wait for a moment
	// with all four parked.
	eventually(t, 10*time.Second, "the endpoint open with 4 parked", func() bool {
		st := s.endpointState(hookID)
		return (st["state"] == "open" || st["state"] == "half_open") && get[float64](t, st, "parked") == 4
	})
	var rec map[string]any
	eventually(t, 10*time.Second, "the first record parked", func() bool {
		_, rec = s.call("GET", "/v1/delivery-records/"+keys[0], nil)
		return rec["status"] == "parked"
	})
	if reason, _ := rec["park_reason"].(string); reason != "open" || rec["parked_at"] == nil {
		t.Errorf("parked record %v, want park_reason open and parked_at", rec)
	}

	sw.down.Store(0)
	for _, order := range orders {
		var res workflows.RTOCancelResult
		s.waitWorkflow(workflows.RTOCancelWorkflowID(order), &res)
		if len(res.Deliveries) != 1 || res.Deliveries[0].Status != workflows.DeliveryDelivered {
			t.Errorf("order %s: %+v, want delivered", order, res)
		}
	}
	got := s.acceptedOrders()
	if len(got) != len(orders) {
		t.Fatalf("CRM accepted %v, want each of %v once", got, orders)
	}
	// The first accepted is the probe (whichever parked delivery woke
	// first); the drain releases the rest in the order they parked. The
	// order the CRM receives them in is not the order of release: a group
	// of releases (drainGroups) runs as concurrent workflows. So the
	// check reads the drain's own signals, in its history.
	var rest []string
	for _, o := range orders {
		if o != got[0] {
			rest = append(rest, workflows.RTOCancelWorkflowID(o))
		}
	}
	released := s.drainReleases(activities.EndpointDrainWorkflowID("crm_webhook", hookID))
	if !inOrder(released, rest) {
		t.Errorf("the drain released %v after the probe %s, want oldest parking first %v", released, got[0], rest)
	}
	// (Whether draining has cleared is not checked: the development store,
	// FerretDB v1, can lose one of two concurrent updates of a document, and
	// the drain's end races the last released delivery's success. A stale
	// flag heals itself: the next delivery parked behind it starts a drain
	// that finds nothing and clears it.)
	eventually(t, 20*time.Second, "endpoint closed with nothing parked", func() bool {
		st := s.endpointState(hookID)
		return st["state"] == "closed" && get[float64](t, st, "parked") == 0
	})
	drainID := activities.EndpointDrainWorkflowID("crm_webhook", hookID)
	s.waitWorkflow(drainID, nil)
	s.recordHistory(drainID, "endpoint_drain_history.json")
}

// A 400 or a 404 is final for its delivery and never opens the endpoint.
func TestBreakerNeverOpensOn400Or404(t *testing.T) {
	s := newStack(t, breakerSeconds(time.Hour))
	s.startWorker()
	hookID := s.configureRTOWebhook()
	sw := s.crmBehindSwitch(hookID)
	for i, code := range []int{400, 404, 400, 404} {
		sw.down.Store(int32(code))
		order := s.insertOrder("98765303"+string(rune('0'+i))+"0", 100)
		if res := s.deliverRTO(order); len(res.Deliveries) != 1 || res.Deliveries[0].Status != workflows.DeliveryRejected {
			t.Fatalf("answer %d: %+v, want rejected", code, res)
		}
	}
	st := s.endpointState(hookID)
	if st["state"] != "closed" || get[float64](t, st, "consecutive_failures") != 0 || get[float64](t, st, "parked") != 0 {
		t.Errorf("endpoint after 400s and 404s: %v, want closed with no failures", st)
	}
}

// A 410 Gone disables the endpoint at once and emits the operational
// event; what follows parks without a POST. Re-enabling drains both, the
// 410's delivery first. Bad input: a rate of zero is a 400 naming the field,
// an unknown id a 404.
func TestGoneDisablesEndpointAndReenablingDrains(t *testing.T) {
	ops, opsURL := newOpsWebhook(t)
	s := newStack(t, breakerSeconds(time.Hour), func(c *config.Config) { c.Delivery.Breaker.OperationsWebhookURL = opsURL })
	s.startWorker()
	hookID := s.configureRTOWebhook()
	sw := s.crmBehindSwitch(hookID)
	sw.down.Store(410)

	first, second := s.insertOrder("9876530400", 100), s.insertOrder("9876530410", 100)
	key := s.parkRTO(first, hookID)
	_, rec := s.call("GET", "/v1/delivery-records/"+key, nil)
	if reason, _ := rec["park_reason"].(string); reason != "disabled: answered 410 Gone" {
		t.Errorf("park_reason %q", reason)
	}
	s.parkRTO(second, hookID)
	if n := sw.posts.Load(); n != 1 {
		t.Errorf("%d POSTs to the gone endpoint, want 1 (what follows parks without a POST)", n)
	}
	st := s.endpointState(hookID)
	if st["state"] != "disabled" || st["disabled_reason"] != "answered 410 Gone" {
		t.Fatalf("endpoint %v, want disabled by the 410", st)
	}
	eventually(t, 10*time.Second, "the operational event", func() bool { return len(ops.received()) == 1 })
	if ev := ops.received()[0]; ev["event"] != "endpoint.disabled" || ev["destination_id"] != hookID || ev["kind"] != "crm_webhook" {
		t.Errorf("operational event %v", ev)
	}

	if code, out := s.call("POST", "/v1/endpoints/crm_webhook/"+hookID+"/enable", map[string]any{"drain_rate_per_second": 0}); code != 400 || out["field"] != "drain_rate_per_second" {
		t.Errorf("rate 0: %d %v, want 400 naming drain_rate_per_second", code, out)
	}
	if code, _ := s.call("POST", "/v1/endpoints/crm_webhook/0123456789abcdef01234567/enable", map[string]any{}); code != 404 {
		t.Errorf("unknown id: %d, want 404", code)
	}
	if code, _ := s.call("GET", "/v1/endpoints/crm_webhook/0123456789abcdef01234567", nil); code != 404 {
		t.Errorf("unknown id: %d, want 404", code)
	}
	sw.down.Store(0)
	s.mustCall(200, "POST", "/v1/endpoints/crm_webhook/"+hookID+"/enable", map[string]any{"reason": "the CRM is back"})
	for _, order := range []string{first, second} {
		var res workflows.RTOCancelResult
		s.waitWorkflow(workflows.RTOCancelWorkflowID(order), &res)
		if res.Deliveries[0].Status != workflows.DeliveryDelivered {
			t.Errorf("order %s: %+v", order, res)
		}
	}
	// Released oldest parking first; released together (one group), they
	// may reach the CRM in either order.
	if got := s.acceptedOrders(); len(got) != 2 || !slices.Contains(got, first) || !slices.Contains(got, second) {
		t.Errorf("CRM accepted %v, want %s and %s once each", got, first, second)
	}
	want := []string{workflows.RTOCancelWorkflowID(first), workflows.RTOCancelWorkflowID(second)}
	if got := s.drainReleases(activities.EndpointDrainWorkflowID("crm_webhook", hookID)); !slices.Equal(got, want) {
		t.Errorf("the drain released %v, want oldest parking first %v", got, want)
	}
	if strings.Contains(s.logs.String(), "ops-token-DISTINCT") {
		t.Error("the operations webhook's URL reached a log line")
	}
}

// An endpoint failing longer than disable_after is disabled by its next
// failed probe: the operational event goes to the operations webhook, the
// log says so, and re-enabling drains what was parked.
func TestFailingLongerThanDisableAfterDisablesWithOperationalEvent(t *testing.T) {
	ops, opsURL := newOpsWebhook(t)
	s := newStack(t, breakerSeconds(3*time.Second), func(c *config.Config) { c.Delivery.Breaker.OperationsWebhookURL = opsURL })
	s.startWorker()
	hookID := s.configureRTOWebhook()
	sw := s.crmBehindSwitch(hookID)
	sw.down.Store(503)

	order := s.insertOrder("9876530500", 100)
	s.parkRTO(order, hookID)
	eventually(t, 30*time.Second, "the endpoint disabled", func() bool { return s.endpointState(hookID)["state"] == "disabled" })
	if reason, _ := s.endpointState(hookID)["disabled_reason"].(string); !strings.HasPrefix(reason, "failing since ") {
		t.Errorf("disabled_reason %q", reason)
	}
	eventually(t, 10*time.Second, "the operational event", func() bool { return len(ops.received()) == 1 })
	if ev := ops.received()[0]; ev["event"] != "endpoint.disabled" || ev["destination_id"] != hookID {
		t.Errorf("operational event %v", ev)
	}
	if !strings.Contains(s.logs.String(), "endpoint disabled") {
		t.Error("no log line for the disabled endpoint")
	}
	probes := sw.posts.Load()
	sw.down.Store(0)
	s.mustCall(200, "POST", "/v1/endpoints/crm_webhook/"+hookID+"/enable", map[string]any{})
	var res workflows.RTOCancelResult
	s.waitWorkflow(workflows.RTOCancelWorkflowID(order), &res)
	if res.Deliveries[0].Status != workflows.DeliveryDelivered || len(s.acceptedOrders()) != 1 {
		t.Errorf("after re-enabling: %+v, CRM accepted %v", res, s.acceptedOrders())
	}
	if probes < 3 {
		t.Errorf("%d POSTs before it was disabled, want the 2 that opened it and at least one probe", probes)
	}
}

// drainReleases lists the workflows a drain signalled, in the order it
// signalled them.
func (s *stack) drainReleases(drainID string) []string {
	s.t.Helper()
	var out []string
	iter := s.temporal.GetWorkflowHistory(context.Background(), drainID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			s.t.Fatalf("history of %s: %v", drainID, err)
		}
		if attrs := ev.GetSignalExternalWorkflowExecutionInitiatedEventAttributes(); attrs != nil {
			out = append(out, attrs.GetWorkflowExecution().GetWorkflowId())
		}
	}
	return out
}

// inOrder says whether got is a non-empty run of want's elements in want's
// order. A delivery whose own timer fired after the endpoint closed may go
// out without the drain's release (the development store can lose the
// draining flag to a concurrent update); any the drain did release must
// keep their parking order.
func inOrder(got, want []string) bool {
	if len(got) == 0 {
		return false
	}
	i := 0
	for _, g := range got {
		for i < len(want) && want[i] != g {
			i++
		}
		if i == len(want) {
			return false
		}
		i++
	}
	return true
}
