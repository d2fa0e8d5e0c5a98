package store_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"orderflow/dev/devstore"
	"orderflow/store"
	"orderflow/tracking"
)

var (
	mongoURI string
	dbSeq    atomic.Int32
)

// TestMain runs one embedded FerretDB (SQLite) for the package: a real Mongo wire protocol.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "orderflow-store-test")
	if err != nil {
		panic(err)
	}
	srv, err := devstore.Start(devstore.Options{Addr: "127.0.0.1:0", Dir: dir})
	if err != nil {
		panic(err)
	}
	mongoURI = srv.URI()
	code := m.Run()
	_ = srv.Stop()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func newStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Connect(ctx, mongoURI, fmt.Sprintf("t%d", dbSeq.Add(1)), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Database().Drop(ctx); _ = s.Close(ctx) })
	for i := 0; i < 2; i++ { // every process ensures indexes at start: the second call must be harmless
		if err := s.EnsureIndexes(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func insertOrder(t *testing.T, s *store.Store, doc bson.M) bson.ObjectID {
	t.Helper()
	id := bson.NewObjectID()
	doc["_id"] = id
	if _, err := s.Database().Collection(store.OrdersCollection).InsertOne(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
	return id
}

func loadOrder(t *testing.T, s *store.Store, id bson.ObjectID) bson.M {
	t.Helper()
	var doc bson.M
	if err := s.Database().Collection(store.OrdersCollection).FindOne(context.Background(), bson.M{"_id": id}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func obs(id bson.ObjectID, status string, at time.Time) tracking.Observation {
	return tracking.Observation{OrderID: id.Hex(), Source: "test", Status: status, EventTime: at}
}

func TestApplyObservationsWritesNewerStatusAndFirstSeen(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	id := insertOrder(t, s, bson.M{"awb": "AWB1", "courier_name": "delhivery"})

	res, err := s.ApplyObservations(ctx, []tracking.Observation{obs(id, tracking.InTransit, t0)})
	if err != nil || res.Modified != 2 || len(res.RTOCandidates) != 0 {
		t.Fatalf("first apply: %+v, %v", res, err)
	}
	// The same observation again changes nothing.
	if res, err = s.ApplyObservations(ctx, []tracking.Observation{obs(id, tracking.InTransit, t0.Add(time.Minute))}); err != nil || res.Modified != 0 {
		t.Fatalf("repeat: %+v, %v", res, err)
	}
	// RTO, then an older in-transit arriving late: the order stays rto.
	res, err = s.ApplyObservations(ctx, []tracking.Observation{obs(id, tracking.RTO, t0.Add(2*time.Hour))})
	if err != nil || len(res.RTOCandidates) != 1 || res.RTOCandidates[0].AWB != "AWB1" || res.RTOCandidates[0].Courier != "delhivery" {
		t.Fatalf("rto: %+v, %v", res, err)
	}
	if _, err = s.ApplyObservations(ctx, []tracking.Observation{obs(id, tracking.OutForDelivery, t0.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	doc := loadOrder(t, s, id)
	if doc["tracking_status"] != tracking.RTO {
		t.Errorf("older event overwrote the status: %v", doc["tracking_status"])
	}
	ts := as[bson.M](t, doc["tracking_timestamps"], "tracking_timestamps")
	if got := as[bson.DateTime](t, ts["in_transit"], "tracking_timestamps.in_transit").Time().UTC(); !got.Equal(t0) {
		t.Errorf("first-seen in transit moved to %v", got)
	}
	if _, ok := ts["out_for_delivery"]; !ok {
		t.Error("a late event's first-seen time must still be kept")
	}
	// An earlier sighting of a status moves its first-seen time back.
	if _, err = s.ApplyObservations(ctx, []tracking.Observation{obs(id, tracking.InTransit, t0.Add(-time.Hour))}); err != nil {
		t.Fatal(err)
	}
	ts = as[bson.M](t, loadOrder(t, s, id)["tracking_timestamps"], "tracking_timestamps")
	if got := as[bson.DateTime](t, ts["in_transit"], "tracking_timestamps.in_transit").Time().UTC(); !got.Equal(t0.Add(-time.Hour)) {
		t.Errorf("first-seen not moved earlier: %v", got)
	}
}

// A delivered order moves on to return and returned, each with its first-seen
// time; neither is an RTO candidate; a later forward report (a poll stamped
// with its own time) or a late return scan never moves it back.
func TestApplyObservationsCustomerReturnMovesOnlyForward(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	id := insertOrder(t, s, bson.M{"awb": "AWB1", "courier_name": "delhivery"})
	steps := []struct {
		status string
		at     time.Time
		want   string
	}{
		{tracking.Delivered, t0, tracking.Delivered},
		{tracking.Return, t0.Add(24 * time.Hour), tracking.Return},
		{tracking.Delivered, t0.Add(25 * time.Hour), tracking.Return},
		{tracking.Returned, t0.Add(72 * time.Hour), tracking.Returned},
		{tracking.Return, t0.Add(73 * time.Hour), tracking.Returned},
		{tracking.InTransit, t0.Add(74 * time.Hour), tracking.Returned},
	}
	for _, st := range steps {
		res, err := s.ApplyObservations(ctx, []tracking.Observation{obs(id, st.status, st.at)})
		if err != nil || len(res.RTOCandidates) != 0 {
			t.Fatalf("%s: %+v, %v", st.status, res, err)
		}
		if got := loadOrder(t, s, id)["tracking_status"]; got != st.want {
			t.Fatalf("after %s at %v: status %v, want %s", st.status, st.at, got, st.want)
		}
	}
	ts := as[bson.M](t, loadOrder(t, s, id)["tracking_timestamps"], "tracking_timestamps")
	for field, want := range map[string]time.Time{"delivered": t0, "return": t0.Add(24 * time.Hour), "returned": t0.Add(72 * time.Hour)} {
		if got := as[bson.DateTime](t, ts[field], "tracking_timestamps."+field).Time().UTC(); !got.Equal(want) {
			t.Errorf("first-seen %s = %v, want %v", field, got, want)
		}
	}
}

// An ObjectID reported in upper-case hex is the same order: its RTO candidate
// carries the id as the store spells it, so the claim and RTOCancel find it.
func TestApplyObservationsUpperCaseIDIsTheSameOrder(t *testing.T) {
	s := newStore(t)
	id := insertOrder(t, s, bson.M{"awb": "AWB2"})
	o := tracking.Observation{OrderID: strings.ToUpper(id.Hex()), Source: "manual", Status: tracking.RTO, EventTime: t0}
	res, err := s.ApplyObservations(context.Background(), []tracking.Observation{o})
	if err != nil || len(res.RTOCandidates) != 1 || res.RTOCandidates[0].OrderID != id.Hex() || res.RTOCandidates[0].AWB != "AWB2" {
		t.Fatalf("upper-case id: %+v, %v", res, err)
	}
}

func TestApplyObservationsIgnoresUnknownOrders(t *testing.T) {
	s := newStore(t)
	res, err := s.ApplyObservations(context.Background(), []tracking.Observation{obs(bson.NewObjectID(), tracking.RTO, t0)})
	if err != nil || res.Modified != 0 || len(res.RTOCandidates) != 0 {
		t.Fatalf("unknown order: %+v, %v", res, err)
	}
}

func TestClaimFirstRTOHasOneWinnerAndIsIdempotent(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	mp := bson.NewObjectID()
	id := insertOrder(t, s, bson.M{"marketplace": mp, "customer": bson.M{"phone": "99"}, "total_amt": 10.5})

	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, won, err := s.ClaimFirstRTO(ctx, store.RTOClaim{OrderID: id.Hex(), WorkflowID: "w", ChainID: fmt.Sprint("chain-", i), Status: tracking.RTO, ClaimedAt: t0})
			if err != nil {
				t.Error(err)
			}
			if won {
				wins.Add(1)
			}
		}(i)
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d chains won the claim, want 1", wins.Load())
	}
	claim := as[bson.M](t, loadOrder(t, s, id)["rto_claim"], "rto_claim")
	chain := as[string](t, claim["chain_id"], "rto_claim.chain_id")
	snap, won, err := s.ClaimFirstRTO(ctx, store.RTOClaim{OrderID: id.Hex(), WorkflowID: "w", ChainID: chain, Status: tracking.RTO, ClaimedAt: t0})
	if err != nil || !won {
		t.Fatalf("the winner's retry must win again: %v %v", won, err)
	}
	if snap.MarketplaceID != mp.Hex() || snap.Customer["phone"] != "99" || snap.TotalAmt != 10.5 {
		t.Errorf("snapshot = %+v", snap)
	}
	// Once claimed, the order is no longer an RTO candidate.
	res, err := s.ApplyObservations(ctx, []tracking.Observation{obs(id, tracking.RTOInTransit, t0)})
	if err != nil || len(res.RTOCandidates) != 0 {
		t.Fatalf("claimed order still a candidate: %+v, %v", res, err)
	}
}

func TestMarketplaceName(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	id := bson.NewObjectID()
	if _, err := s.Database().Collection(store.MarketplacesCollection).InsertOne(ctx, bson.M{"_id": id, "name": "Shopify"}); err != nil {
		t.Fatal(err)
	}
	if name, err := s.MarketplaceName(ctx, id.Hex()); err != nil || name != "Shopify" {
		t.Errorf("got %q, %v", name, err)
	}
	if name, err := s.MarketplaceName(ctx, bson.NewObjectID().Hex()); err != nil || name != "" {
		t.Errorf("missing: got %q, %v", name, err)
	}
}

// The worker and the starter ensure indexes at the same moment on start; on
// FerretDB v1 the loser's create fails instead of being a no-op, which must
// not stop the process.
func TestEnsureIndexesConcurrently(t *testing.T) {
	for round := 0; round < 3; round++ {
		a := newStoreNoIndexes(t)
		b, err := store.Connect(context.Background(), mongoURI, a.Database().Name(), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 2)
		for _, s := range []*store.Store{a, b} {
			go func() { errs <- s.EnsureIndexes(context.Background()) }()
		}
		for i := 0; i < 2; i++ {
			if err := <-errs; err != nil {
				t.Errorf("round %d: %v", round, err)
			}
		}
		_ = b.Close(context.Background())
	}
}

func newStoreNoIndexes(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Connect(ctx, mongoURI, fmt.Sprintf("t%d", dbSeq.Add(1)), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Database().Drop(ctx); _ = s.Close(ctx) })
	return s
}

// as is a stored field's value as a T; another type fails the test instead of panicking.
func as[T any](t *testing.T, v any, what string) T {
	t.Helper()
	out, ok := v.(T)
	if !ok {
		t.Fatalf("%s is %T (%v), want %T", what, v, v, out)
	}
	return out
}
