//go:build integration

package tests

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.temporal.io/api/serviceerror"

	"orderflow/tracking"
	"orderflow/workflows"
)

// returnReceiver is a merchant endpoint subscribed to order.return: it keeps
// every POST's idempotency key and body.
type returnReceiver struct {
	mu       sync.Mutex
	received []returnPost
}

type returnPost struct {
	IdempotencyKey string
	Body           map[string]any
}

func (r *returnReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(req.Body, 1<<16))
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.received = append(r.received, returnPost{IdempotencyKey: req.Header.Get("Idempotency-Key"), Body: body})
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (r *returnReceiver) posts() []returnPost {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]returnPost(nil), r.received...)
}

// configureReturnWebhook subscribes url to order.return (no auth, no
// condition) through the configuration API and returns the webhook's id.
func (s *stack) configureReturnWebhook(url string) string {
	s.t.Helper()
	s.mustCall(201, "POST", "/v1/events", map[string]any{"name": workflows.EventOrderReturn, "module_name": "order",
		"description": "a customer is returning an order"})
	payload := s.mustCall(201, "POST", "/v1/payloads", map[string]any{
		"name": "crm-order-return", "module_name": "order",
		"mapping": map[string]any{"order_id": "order_id", "status": "status", "tracking_status": "tracking_status",
			"return_awb": "return_awb", "phone_number": "customer.phone"},
	})
	hook := s.mustCall(201, "POST", "/v1/webhooks", map[string]any{
		"name": "crm-order-return", "url": url, "module_name": "order",
		"events": []string{workflows.EventOrderReturn}, "payload_id": payload["id"],
	})
	return get[string](s.t, hook, "id")
}

// A reverse pickup pushed by Clickpost after the order's delivery sets the
// order to return, then returned when it is delivered back, each with its
// first-seen time. It never starts an RTOCancel (the order.rto webhook hears
// nothing), and the return shipment's order.return reaches only the webhook
// subscribed to it, once, however many pushes the shipment makes.
func TestReversePickupPushSetsReturnThenReturnedAndFiresOrderReturnOnce(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.configureRTOWebhook()
	receiver := &returnReceiver{}
	srv := httptest.NewServer(receiver)
	defer srv.Close()
	hookID := s.configureReturnWebhook(srv.URL + "/returns")
	order := s.insertOrder("9876517401", 1200)
	awb := s.awbOf(order)
	rvp := "RVP" + awb

	res := s.waitPush(first(s.clickpost(cpBody(awb, 8, base, map[string]any{"order_id": order}))))
	if st := s.order(order)["tracking_status"]; st != tracking.Delivered || len(res.RTOCancelsStarted) != 0 {
		t.Fatalf("after the delivery: status %v, result %+v", st, res)
	}

	returnID := workflows.OrderReturnWorkflowID(order, rvp)
	steps := []struct {
		code int
		at   time.Time
		want string
	}{
		{101, base.Add(24 * time.Hour), tracking.Return},  // Return Order Placed
		{4, base.Add(26 * time.Hour), tracking.Return},    // picked up from the customer
		{8, base.Add(72 * time.Hour), tracking.Returned},  // delivered back to the seller
		{5, base.Add(48 * time.Hour), tracking.Returned},  // a late in-transit scan: no regression
		{14, base.Add(73 * time.Hour), tracking.Returned}, // an RTO code on the return shipment: never RTO
	}
	for i, st := range steps {
		res := s.waitPush(first(s.clickpost(cpBody(rvp, st.code, st.at, map[string]any{"is_rvp": true, "forward_awb": awb}))))
		if res.OrderID != order || len(res.RTOCancelsStarted) != 0 || len(res.RTOCancelsExisting) != 0 {
			t.Errorf("code %d: %+v", st.code, res)
		}
		if i == 0 && res.OrderReturnStarted != returnID {
			t.Errorf("first return push started %q, want %q", res.OrderReturnStarted, returnID)
		}
		if got := s.order(order)["tracking_status"]; got != st.want {
			t.Errorf("after code %d at %v: status %v, want %s", st.code, st.at, got, st.want)
		}
	}
	s.recordHistory(returnID, "order_return_history.json")

	ts := as[bson.M](t, s.order(order)["tracking_timestamps"], "tracking_timestamps")
	for field, want := range map[string]time.Time{"delivered": base, "return": base.Add(24 * time.Hour), "returned": base.Add(72 * time.Hour)} {
		if got := as[bson.DateTime](t, ts[field], "tracking_timestamps."+field).Time().UTC(); !got.Equal(want) {
			t.Errorf("first-seen %s = %v, want %v", field, got, want)
		}
	}

	var out workflows.OrderReturnResult
	s.waitWorkflow(returnID, &out)
	if !out.Found || len(out.Deliveries) != 1 || out.Deliveries[0].WebhookID != hookID || out.Deliveries[0].Status != workflows.DeliveryDelivered {
		t.Errorf("OrderReturn result %+v, want one delivery to %s", out, hookID)
	}
	posts := receiver.posts()
	if len(posts) != 1 {
		t.Fatalf("order.return webhook received %d POSTs, want 1: %+v", len(posts), posts)
	}
	p := posts[0]
	if p.IdempotencyKey != workflows.OrderReturnIdempotencyKey(order, rvp, hookID) || p.Body["order_id"] != order ||
		p.Body["status"] != tracking.Return || p.Body["tracking_status"] != tracking.Return || p.Body["return_awb"] != rvp ||
		p.Body["phone_number"] != "9876517401" {
		t.Errorf("order.return POST %+v", p)
	}

	_, err := s.temporal.DescribeWorkflowExecution(context.Background(), workflows.RTOCancelWorkflowID(order), "")
	var notFound *serviceerror.NotFound
	if !errors.As(err, &notFound) {
		t.Errorf("an RTOCancel exists for a customer return (err %v)", err)
	}
	if n := len(s.crm.Received()); n != 0 {
		t.Errorf("the order.rto webhook received %d POSTs, want 0", n)
	}
}

// Delhivery's reverse pickup (PP, PU) and its delivery back (DL+DTO) on the
// return AWB set return then returned; no webhook subscribes to order.return,
// so the return shipment's OrderReturn sends nothing, and no RTO follows.
func TestDelhiveryReturnSetsReturnedWithoutSubscribers(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.configureRTOWebhook()
	order := s.insertOrder("9876517402", 700)
	ret := "RET" + s.awbOf(order)
	for _, ev := range []struct {
		e    courierEvent
		want string
	}{
		{courierEvent{awb: ret, orderRef: order, at: base, dlType: "PP", dlStatus: "Scheduled", dlCode: "X-ASP"}, tracking.Return},
		{courierEvent{awb: ret, orderRef: order, at: base.Add(time.Hour), dlType: "PU", dlStatus: "In Transit", dlCode: "X-PPOM"}, tracking.Return},
		{courierEvent{awb: ret, orderRef: order, at: base.Add(2 * time.Hour), dlType: "DL", dlStatus: "DTO", dlCode: "RD-AC"}, tracking.Returned},
	} {
		res := s.waitPush(first1(s.courierPush(delhiverySource, ev.e.body("delhivery"))))
		if res.OrderID != order || len(res.RTOCancelsStarted) != 0 {
			t.Errorf("%s/%s: %+v", ev.e.dlType, ev.e.dlStatus, res)
		}
		if got := s.order(order)["tracking_status"]; got != ev.want {
			t.Errorf("after %s/%s: status %v, want %s", ev.e.dlType, ev.e.dlStatus, got, ev.want)
		}
	}
	var out workflows.OrderReturnResult
	s.waitWorkflow(workflows.OrderReturnWorkflowID(order, ret), &out)
	if !out.Found || len(out.Deliveries) != 0 {
		t.Errorf("OrderReturn result %+v, want no delivery", out)
	}
	if n := len(s.crm.Received()); n != 0 {
		t.Errorf("the order.rto webhook received %d POSTs, want 0", n)
	}
}
