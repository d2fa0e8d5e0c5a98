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
// connection back before the next, or the write waits forever for one.
//
// The test guards that hang, not the store's speed: 60 orders are 180 matches,
// well past the pool, and the write may take all of go test's -timeout but a
// minute (at least minutes, where a loaded 2-core machine under -race takes
// about half a minute), so only a hang reaches the deadline and fails it.
func TestApplyPollWithMoreMatchesThanTheStorePoolCompletes(t *testing.T) {
	const (
		storePool     = 100 // FerretDB's SQLite connections per database
		orders        = 60
		matchesPerRow = 3 // status, first seen, raw status
	)
	if orders*matchesPerRow <= 3*storePool/2 {
		t.Fatalf("%d matches do not exceed the store's pool of %d by enough to deadlock", orders*matchesPerRow, storePool)
	}
	s := newStore(t)
	docs := make([]any, orders)
	var observations []tracking.Observation
	var marks []store.PollMark
	for i := range orders {
		id := bson.NewObjectID()
		docs[i] = bson.M{"_id": id, "awb": fmt.Sprintf("P%d", i), "courier_name": "delhivery", "tracking_status": "in transit"}
		observations = append(observations, obs(id, "out for delivery", t0))
		marks = append(marks, store.PollMark{OrderID: id.Hex(), Raw: "delhivery:UD/Dispatched/Out for delivery"})
	}
	if _, err := s.Database().Collection(store.OrdersCollection).InsertMany(context.Background(), docs); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), hangAfter(t)) // started after seeding: bounds the write alone
	defer cancel()
	start := time.Now()
	res, err := s.ApplyPoll(ctx, observations, marks, t0)
	if ctx.Err() != nil {
		t.Fatalf("apply poll of %d orders (%d matches) still running after %v: the bulk write holds a store connection per match and waits forever for one",
			orders, orders*matchesPerRow, time.Since(start).Round(time.Second))
	}
	if err != nil {
		t.Fatalf("apply poll of %d orders: %v", orders, err)
	}
	if want := int64(matchesPerRow * orders); res.Modified != want {
		t.Fatalf("modified %d, want %d", res.Modified, want)
	}
	t.Logf("apply poll of %d orders took %v", orders, time.Since(start).Round(time.Millisecond))
}

// hangAfter is how long a write may take before the test calls it a hang: what
// remains of go test's -timeout less a minute to report it, or ten minutes
// when there is no -timeout.
func hangAfter(t *testing.T) time.Duration {
	deadline, ok := t.Deadline()
	if !ok {
		return 10 * time.Minute
	}
	return max(time.Until(deadline)-time.Minute, time.Minute)
}
