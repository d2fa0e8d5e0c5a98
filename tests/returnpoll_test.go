//go:build integration

package tests

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.temporal.io/api/serviceerror"

	sbcouriers "orderflow/dev/sandbox/couriers"
	"orderflow/store"
	"orderflow/tracking"
	"orderflow/workflows"
)

// deliveredWithReturn marks an order delivered at deliveredAt and, when
// returnAWB is set, records its customer return shipment's own AWB, as a push
// of the return shipment linked to the order would.
func (s *sweepStack) deliveredWithReturn(id string, deliveredAt time.Time, returnAWB string) {
	s.t.Helper()
	oid, err := bson.ObjectIDFromHex(id)
	if err != nil {
		s.t.Fatal(err)
	}
	set := bson.M{"tracking_status": tracking.Delivered, "tracking_status_at": deliveredAt,
		"tracking_timestamps.delivered": deliveredAt}
	if returnAWB != "" {
		set["return_awb"], set["return_awb_at"] = returnAWB, deliveredAt
	}
	if _, err := s.store.Database().Collection(store.OrdersCollection).UpdateOne(context.Background(),
		bson.M{"_id": oid}, bson.M{"$set": set}); err != nil {
		s.t.Fatal(err)
	}
}

// noRTOCancel fails the test when the order has an RTOCancel or the CRM heard of it.
func (s *sweepStack) noRTOCancel(order string) {
	s.t.Helper()
	_, err := s.temporal.DescribeWorkflowExecution(context.Background(), workflows.RTOCancelWorkflowID(order), "")
	var notFound *serviceerror.NotFound
	if !errors.As(err, &notFound) {
		s.t.Errorf("an RTOCancel exists for a customer return (err %v)", err)
	}
	if n := len(s.crm.Received()); n != 0 {
		s.t.Errorf("the order.rto webhook received %d POSTs, want 0", n)
	}
}

// A delivered order whose return shipment's AWB is known is polled by that
// AWB within the return window: the return shipment's RTO-looking scans make
// the order return, then returned (never RTO), and its OrderReturn tells the
// webhook subscribed to order.return once. A returned order's return AWB is
// polled no more, nor is one delivered before the window.
func TestSweepPollsReturnShipmentWithinReturnWindow(t *testing.T) {
	s := newSweepStack(t, sbcouriers.DefaultOptions(), nil)
	s.configureRTOWebhook()
	receiver := &returnReceiver{}
	srv := httptest.NewServer(receiver)
	defer srv.Close()
	hookID := s.configureReturnWebhook(srv.URL + "/returns")

	now := time.Now().UTC().Truncate(time.Second)
	order := s.order(tracking.CourierNameDelhivery, "57930880000001", tracking.InTransit)
	s.deliveredWithReturn(order, now.Add(-2*time.Hour), "57930880000091")
	s.couriers.SetDelhivery("57930880000091", rtoInTransit()) // a return shipment's RTO-looking scan
	old := s.order(tracking.CourierNameDelhivery, "57930880000002", tracking.InTransit)
	s.deliveredWithReturn(old, now.Add(-45*24*time.Hour), "57930880000092") // outside the 30-day window
	s.couriers.SetDelhivery("57930880000092", rtoInTransit())

	stats := s.sweep(s.cfg.Sweep.ScheduleID + "-return-1")
	if stats.ReturnsPolled != 1 || stats.ReturnsStarted != 1 || stats.FirstRTOs != 0 {
		t.Errorf("first sweep stats %+v, want one return shipment polled and its OrderReturn started", stats)
	}
	if got := s.orderDoc(order)["tracking_status"]; got != tracking.Return {
		t.Errorf("after the return shipment's first scan: status %v, want return", got)
	}
	if got := s.orderDoc(old)["tracking_status"]; got != tracking.Delivered {
		t.Errorf("an order delivered before the return window: status %v, want delivered", got)
	}

	s.couriers.SetDelhivery("57930880000091", sbcouriers.DelhiveryStatus{Status: "RTO", StatusType: "DL", StatusCode: "RT-110"})
	stats = s.sweep(s.cfg.Sweep.ScheduleID + "-return-2")
	if stats.ReturnsPolled != 1 || stats.ReturnsStarted != 0 || stats.FirstRTOs != 0 {
		t.Errorf("second sweep stats %+v, want the shipment polled, its OrderReturn already started", stats)
	}
	doc := s.orderDoc(order)
	if doc["tracking_status"] != tracking.Returned || doc["rto_claim"] != nil {
		t.Errorf("after the return shipment reached the seller: %v", doc)
	}
	ts := as[bson.M](t, doc["tracking_timestamps"], "tracking_timestamps")
	for _, field := range []string{"return", "returned"} {
		if _, ok := ts[field]; !ok {
			t.Errorf("no first-seen time for %s: %v", field, ts)
		}
	}

	if stats := s.sweep(s.cfg.Sweep.ScheduleID + "-return-3"); stats.ReturnsPolled != 0 {
		t.Errorf("a returned order's return shipment was polled again: %+v", stats)
	}

	returnID := workflows.OrderReturnWorkflowID(order, "57930880000091")
	var out workflows.OrderReturnResult
	s.waitWorkflow(returnID, &out)
	if !out.Found || len(out.Deliveries) != 1 || out.Deliveries[0].WebhookID != hookID {
		t.Errorf("OrderReturn result %+v, want one delivery to %s", out, hookID)
	}
	if posts := receiver.posts(); len(posts) != 1 || posts[0].Body["return_awb"] != "57930880000091" ||
		posts[0].Body["tracking_status"] != tracking.Return {
		t.Errorf("order.return POSTs %+v, want one for the return shipment", posts)
	}
	s.noRTOCancel(order)
}

// A Clickpost push of a reverse pickup linked to its forward order by
// forward_awb records the return AWB and starts the shipment's OrderReturn;
// the sweep then polls that AWB, moves the order to returned and finds the
// OrderReturn already started: one order.return POST in all.
func TestPushAndPollOfOneReturnShipmentStartOneOrderReturn(t *testing.T) {
	s := newSweepStack(t, sbcouriers.DefaultOptions(), nil)
	s.configureRTOWebhook()
	receiver := &returnReceiver{}
	srv := httptest.NewServer(receiver)
	defer srv.Close()
	s.configureReturnWebhook(srv.URL + "/returns")

	now := time.Now().UTC().Truncate(time.Second)
	order := s.order(tracking.CourierNameDelhivery, "57930880000011", tracking.InTransit)
	s.deliveredWithReturn(order, now.Add(-3*time.Hour), "")
	rvp := "57930880000099"
	res := s.waitPush(first(s.clickpost(cpBody(rvp, 4, now.Add(-time.Hour),
		map[string]any{"is_rvp": true, "forward_awb": "57930880000011"}))))
	returnID := workflows.OrderReturnWorkflowID(order, rvp)
	if res.OrderID != order || res.OrderReturnStarted != returnID {
		t.Fatalf("return push: %+v", res)
	}
	if got := s.orderDoc(order)["return_awb"]; got != rvp {
		t.Fatalf("return_awb after the push: %v, want %s", got, rvp)
	}

	s.couriers.SetDelhivery(rvp, sbcouriers.DelhiveryStatus{Status: "DTO", StatusType: "DL", StatusCode: "EOD-600"})
	stats := s.sweep(s.cfg.Sweep.ScheduleID + "-push-poll")
	if stats.ReturnsPolled != 1 || stats.ReturnsStarted != 0 {
		t.Errorf("sweep stats %+v, want the pushed shipment polled and its OrderReturn found started", stats)
	}
	if got := s.orderDoc(order)["tracking_status"]; got != tracking.Returned {
		t.Errorf("status %v, want returned", got)
	}
	s.waitWorkflow(returnID, nil)
	if posts := receiver.posts(); len(posts) != 1 {
		t.Errorf("order.return POSTs %d, want 1: %+v", len(posts), posts)
	}
	s.noRTOCancel(order)
}
