package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"orderflow/store"
	"orderflow/tracking"
)

func TestSweepQueriesSelectTheActiveSetAndWalkItByIDRanges(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	scope := store.SweepScope{CourierNames: []string{"delhivery"}}
	var active []string
	for i := 0; i < 7; i++ {
		active = append(active, insertOrder(t, s, bson.M{"awb": "A" + string(rune('0'+i)), "courier_name": "delhivery", "tracking_status": "in transit"}).Hex())
	}
	insertOrder(t, s, bson.M{"awb": "N1", "courier_name": "delhivery"}) // no status yet: active, 8th
	for _, st := range []string{"delivered", "cancelled", "rto delivered", "lost"} {
		insertOrder(t, s, bson.M{"awb": "T-" + st, "courier_name": "delhivery", "tracking_status": st})
	}
	insertOrder(t, s, bson.M{"awb": "", "courier_name": "delhivery", "tracking_status": "in transit"})
	insertOrder(t, s, bson.M{"courier_name": "delhivery", "tracking_status": "in transit"})
	insertOrder(t, s, bson.M{"awb": "S1", "courier_name": "shiprocket", "tracking_status": "in transit"})

	last, n, err := s.NextPartition(ctx, scope, "", 5)
	if err != nil || n != 5 || last != active[4] {
		t.Fatalf("first partition: %s %d %v", last, n, err)
	}
	last2, n2, err := s.NextPartition(ctx, scope, last, 5)
	if err != nil || n2 != 3 {
		t.Fatalf("second partition: %s %d %v (terminal, AWB-less and other couriers' orders are not active)", last2, n2, err)
	}
	if _, n3, _ := s.NextPartition(ctx, scope, last2, 5); n3 != 0 {
		t.Fatalf("third partition has %d", n3)
	}
	ranges, err := s.BatchRanges(ctx, scope, store.IDRange{Last: last}, 2)
	if err != nil || len(ranges) != 3 || ranges[0].After != "" || ranges[0].Last != active[1] || ranges[2].Last != active[4] || ranges[1].After != active[1] {
		t.Fatalf("ranges %+v %v", ranges, err)
	}
	got, err := s.OrdersToPoll(ctx, scope, ranges[1], 50)
	if err != nil || len(got) != 2 || got[0].OrderID != active[2] || got[0].AWB != "A2" || got[0].TrackingStatus != "in transit" {
		t.Fatalf("batch %+v %v", got, err)
	}

	// Marks: no data sets the fallback's mark once; data again clears it; a raw status is written only when new.
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	id := got[0].OrderID
	if n, err := s.RecordPollMarks(ctx, []store.PollMark{{OrderID: id, NoData: true}}, now); err != nil || n != 1 {
		t.Fatalf("no data: %d %v", n, err)
	}
	if n, _ := s.RecordPollMarks(ctx, []store.PollMark{{OrderID: id, NoData: true}}, now.Add(time.Hour)); n != 0 {
		t.Errorf("no-data mark rewritten: %d", n)
	}
	fallback := store.SweepScope{CourierNames: []string{"delhivery"}, NoDataOnly: true}
	if fb, _ := s.OrdersToPoll(ctx, fallback, store.IDRange{}, 50); len(fb) != 1 || fb[0].OrderID != id || !fb[0].NoData {
		t.Fatalf("fallback scope %+v", fb)
	}
	if n, _ := s.RecordPollMarks(ctx, []store.PollMark{{OrderID: id, Raw: "delhivery:UD/In Transit/X", ClearNoData: true}}, now); n != 2 {
		t.Errorf("raw + clear: %d writes, want 2", n)
	}
	if n, _ := s.RecordPollMarks(ctx, []store.PollMark{{OrderID: id, Raw: "delhivery:UD/In Transit/X"}}, now); n != 0 {
		t.Errorf("same raw rewritten: %d", n)
	}
	if fb, _ := s.OrdersToPoll(ctx, fallback, store.IDRange{}, 50); len(fb) != 0 {
		t.Errorf("cleared order still in the fallback scope: %+v", fb)
	}
}

// A poll's write matches two or three statements per order; a batch of 250
// orders is 500 to 750 matches in one bulk write, more than the embedded
// store's pool (FerretDB on SQLite: 100 connections). Each must give its
// connection back before the next, or the write never finishes.
func TestApplyPollWithMoreMatchesThanTheStorePoolCompletes(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const orders = 150
	var observations []tracking.Observation
	var marks []store.PollMark
	for i := 0; i < orders; i++ {
		id := insertOrder(t, s, bson.M{"awb": fmt.Sprintf("P%d", i), "courier_name": "delhivery", "tracking_status": "in transit"})
		observations = append(observations, obs(id, "out for delivery", t0))
		marks = append(marks, store.PollMark{OrderID: id.Hex(), Raw: "delhivery:UD/Dispatched/Out for delivery"})
	}
	res, err := s.ApplyPoll(ctx, observations, marks, t0)
	if err != nil {
		t.Fatalf("apply poll of %d orders: %v", orders, err)
	}
	if want := int64(3 * orders); res.Modified != want { // status, first seen, raw status
		t.Fatalf("modified %d, want %d", res.Modified, want)
	}
}
