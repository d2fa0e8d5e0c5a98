package store_test

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"orderflow/tracking"
)

// ReturnsToPoll lists the orders of the courier whose return AWB is known,
// delivered or returning (not returned), delivered within the window, in _id
// order after the cursor; RecordReturnAWB writes a new AWB only.
func TestReturnsToPollSelectsKnownReturnShipmentsWithinTheWindow(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	since := now.Add(-30 * 24 * time.Hour)
	order := func(status, courier string, deliveredAt time.Time, returnAWB string) string {
		doc := bson.M{"awb": "F" + returnAWB, "courier_name": courier, "tracking_status": status,
			"tracking_timestamps": bson.M{"delivered": deliveredAt}}
		if returnAWB != "" {
			doc["return_awb"] = returnAWB
		}
		return insertOrder(t, s, doc).Hex()
	}
	due := []string{
		order(tracking.Delivered, "delhivery", now.Add(-time.Hour), "R1"),
		order(tracking.Return, "delhivery", now.Add(-29*24*time.Hour), "R2"),
	}
	order(tracking.Returned, "delhivery", now.Add(-time.Hour), "R3")         // returned: done
	order(tracking.Delivered, "delhivery", now.Add(-31*24*time.Hour), "R4")  // outside the window
	order(tracking.Delivered, "shiprocket", now.Add(-time.Hour), "R5")       // another courier
	noAWB := order(tracking.Delivered, "delhivery", now.Add(-time.Hour), "") // no return shipment known

	got, err := s.ReturnsToPoll(ctx, []string{"delhivery"}, since, "", 10)
	if err != nil || len(got) != 2 || got[0].OrderID != due[0] || got[1].OrderID != due[1] || got[0].ReturnAWB != "R1" ||
		!got[0].DeliveredAt.Equal(now.Add(-time.Hour)) {
		t.Fatalf("ReturnsToPoll: %+v %v", got, err)
	}
	if next, err := s.ReturnsToPoll(ctx, []string{"delhivery"}, since, due[0], 10); err != nil || len(next) != 1 || next[0].OrderID != due[1] {
		t.Fatalf("after the cursor: %+v %v", next, err)
	}

	for i, want := range []bool{true, false} {
		changed, err := s.RecordReturnAWB(ctx, noAWB, "R6", now)
		if err != nil || changed != want {
			t.Fatalf("RecordReturnAWB #%d: %v %v, want changed %v", i+1, changed, err, want)
		}
	}
	if got, err := s.ReturnsToPoll(ctx, []string{"delhivery"}, since, "", 10); err != nil || len(got) != 3 {
		t.Fatalf("after recording a return AWB: %+v %v", got, err)
	}
}
