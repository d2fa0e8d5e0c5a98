package bench

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.temporal.io/sdk/client"

	"orderflow/config"
	sbcouriers "orderflow/dev/sandbox/couriers"
	"orderflow/starter"
	"orderflow/store"
	"orderflow/tracking"
	"orderflow/tracking/couriers"
	"orderflow/tracking/couriers/delhivery"
	"orderflow/tracking/couriers/delhiveryb2b"
	"orderflow/tracking/couriers/shiprocket"
	"orderflow/workflows"
)

// Courier sandbox credentials of the benchmark (not real ones).
const (
	benchDelhiveryToken = "bench-delhivery-token"
	benchB2BUser        = "bench-b2b"
	benchB2BPassword    = "bench-b2b-password"
	benchSREmail        = "bench@orderflow.dev"
	benchSRPassword     = "bench-sr-password"
)

// sweepStack is a Stack whose worker also serves the tracking sweep and the
// courier task queues, against a courier sandbox on loopback.
type sweepStack struct {
	*Stack
	couriers    *sbcouriers.Sandbox
	couriersSrv *httptest.Server
}

// newSweepStack starts the sandbox with o's limits; tweak sets the courier
// and sweep config (pointed at the sandbox) before the worker starts: in this
// process when processes is 0, else as that many worker binaries.
func newSweepStack(ctx context.Context, e *Env, name string, o sbcouriers.Options, tweak func(*config.Config), processes int) (*sweepStack, error) {
	st, err := e.NewStack(ctx, name)
	if err != nil {
		return nil, err
	}
	o.DelhiveryToken, o.B2BUsername, o.B2BPassword = benchDelhiveryToken, benchB2BUser, benchB2BPassword
	o.ShiprocketEmail, o.ShiprocketPassword = benchSREmail, benchSRPassword
	s := &sweepStack{Stack: st, couriers: sbcouriers.New(o)}
	s.couriersSrv = httptest.NewServer(s.couriers.Handler())
	c := &s.Cfg.Couriers
	*c = config.DefaultCouriers()
	c.Delhivery.BaseURL, c.Delhivery.Token = s.couriersSrv.URL, benchDelhiveryToken
	c.DelhiveryB2B.BaseURL, c.DelhiveryB2B.Username, c.DelhiveryB2B.Password = s.couriersSrv.URL, benchB2BUser, benchB2BPassword
	c.Shiprocket.BaseURL, c.Shiprocket.Username, c.Shiprocket.Password = s.couriersSrv.URL, benchSREmail, benchSRPassword
	s.Cfg.Sweep = config.DefaultSweep()
	if tweak != nil {
		tweak(&s.Cfg)
	}
	if err := s.Cfg.Validate(); err != nil {
		s.Close()
		return nil, err
	}
	if processes == 0 {
		err = s.StartWorker(e.Temporal)
	} else {
		s.processes, err = e.startWorkerProcesses(ctx, s.Cfg, processes)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the workers and the stack, then the sandbox.
func (s *sweepStack) Close() {
	s.Stack.Close()
	s.couriersSrv.Close()
}

// sweepOnce runs one TrackingSweep as the Schedule would and waits for it.
func (s *sweepStack) sweepOnce(ctx context.Context, tc client.Client) (string, workflows.TrackingSweepInput, workflows.SweepStats, time.Duration, error) {
	id := "bench-sweep-" + s.Cfg.Temporal.TaskQueue
	in := starter.SweepInput(s.Cfg)
	t0 := time.Now()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: s.Cfg.Temporal.TaskQueue},
		workflows.TrackingSweep, in)
	var stats workflows.SweepStats
	if err == nil {
		err = run.Get(ctx, &stats)
	}
	return id, in, stats, time.Since(t0), err
}

// trackerStats reads each TrackerSweep child's result (its last run's, after continue-as-new).
func trackerStats(ctx context.Context, tc client.Client, sweepID string, in workflows.TrackingSweepInput) (map[string]workflows.SweepStats, error) {
	out := map[string]workflows.SweepStats{}
	for _, t := range in.Trackers {
		var st workflows.SweepStats
		if err := tc.GetWorkflow(ctx, workflows.TrackerSweepWorkflowID(sweepID, t.Name), "").Get(ctx, &st); err != nil {
			return nil, fmt.Errorf("tracker %s: %w", t.Name, err)
		}
		out[t.Name] = st
	}
	return out, nil
}

// The order kinds of a benchmark fleet: one per tracker, and orders whose
// primary courier has no data (the fallback tracker polls those through Delhivery B2C).
const (
	kindB2C = iota
	kindB2B
	kindShiprocket
	kindSRNoData
	kindB2BNoData
)

// fleetMix is the kind of order i: of every 20 orders, 8 Delhivery B2C, 2
// B2B, 8 Shiprocket, 1 Shiprocket and 1 B2B that only Delhivery knows.
func fleetMix(i int) int {
	switch k := i % 20; {
	case k < 8:
		return kindB2C
	case k < 10:
		return kindB2B
	case k < 18:
		return kindShiprocket
	case k == 18:
		return kindSRNoData
	default:
		return kindB2BNoData
	}
}

// allB2C makes every order a Delhivery B2C one (the rate-limit row).
func allB2C(int) int { return kindB2C }

// changes reports whether order i is one of the 5 % whose courier status
// moves: exactly one in 20 of each kind (i = 20q + k is chosen when q + 13k ≡ 0 mod 20).
func changes(i int) bool { return (i/20+13*(i%20))%20 == 0 }

// noChanges keeps every shipment where it is (the rate-limit row measures calls only).
func noChanges(int) bool { return false }

// fleetStates are the courier states of the benchmark: orders sit in transit
// (as the last sweep left them) and the changing ones go out for delivery.
var (
	dlvInTransit = sbcouriers.DelhiveryStatus{Status: "In Transit", StatusType: "UD", StatusCode: "X-PPOM"}
	dlvOFD       = sbcouriers.DelhiveryStatus{Status: "Dispatched", StatusType: "UD", StatusCode: "X-DDD3FD"}
	srInTransit  = sbcouriers.ShiprocketStatus{Code: 18, Label: "In Transit"}
	srOFD        = sbcouriers.ShiprocketStatus{Code: 17, Label: "Out For Delivery"}
	b2bInTransit = "LEFT_ORIGIN"
	b2bOFD       = "OFD"
)

// checkFleetStates fails when a courier mapping no longer reads the fleet's
// states as in transit → out for delivery (the counts would mean nothing).
func checkFleetStates() error {
	for _, m := range []struct {
		what             string
		from, to         couriers.Mapping
		wantFrom, wantTo string
	}{
		{"delhivery", delhivery.Map(delhivery.Status{Status: dlvInTransit.Status, StatusType: dlvInTransit.StatusType, StatusCode: dlvInTransit.StatusCode}),
			delhivery.Map(delhivery.Status{Status: dlvOFD.Status, StatusType: dlvOFD.StatusType, StatusCode: dlvOFD.StatusCode}), tracking.InTransit, tracking.OutForDelivery},
		{"shiprocket", shiprocket.Map(srInTransit.Code, false), shiprocket.Map(srOFD.Code, false), tracking.InTransit, tracking.OutForDelivery},
		{"delhivery_b2b", delhiveryb2b.Map(b2bInTransit), delhiveryb2b.Map(b2bOFD), tracking.InTransit, tracking.OutForDelivery},
	} {
		if m.from.Status != m.wantFrom || m.to.Status != m.wantTo {
			return fmt.Errorf("bench: %s maps the fleet's states to %q → %q", m.what, m.from.Status, m.to.Status)
		}
	}
	return nil
}

// fleet is what was seeded: orders per tracker and how many change.
type fleet struct {
	Orders  int
	Polled  map[string]int // orders each tracker must poll
	Changed int
}

// seedFleet inserts n merchant orders as the previous sweep left them and
// puts their shipments in the sandbox; then those moves picks move on at the courier.
func seedFleet(ctx context.Context, s *sweepStack, n int, kindOf func(int) int, moves func(int) bool) (fleet, error) {
	f := fleet{Orders: n, Polled: map[string]int{}}
	if err := checkFleetStates(); err != nil {
		return f, err
	}
	db := s.Store.Database()
	mp := bson.NewObjectID()
	if _, err := db.Collection(store.MarketplacesCollection).InsertOne(ctx, bson.M{"_id": mp, "name": "Shopify"}); err != nil {
		return f, err
	}
	seen := time.Now().Add(-time.Hour).UTC() // first seen in transit before the courier's event
	awbs := map[int][]string{}
	var moved [5][]string
	const chunk = 5000
	docs := make([]any, 0, chunk)
	for i := range n {
		kind := kindOf(i)
		awb, courier, raw := fleetOrder(i, kind)
		doc := bson.M{"_id": bson.NewObjectID(), "marketplace": mp, "customer": bson.M{"name": "Bench", "phone": fmt.Sprintf("9%09d", i)},
			"total_amt": float64(100 + i%900), "awb": awb, "courier_name": courier,
			"tracking_status": tracking.InTransit, "tracking_status_at": seen, "tracking_source": "bench-seed",
			"tracking_timestamps": bson.M{"in_transit": seen}, "tracking_raw_status": raw}
		if kind == kindSRNoData || kind == kindB2BNoData {
			doc["tracking_no_data_at"] = seen
		}
		docs = append(docs, doc)
		awbs[kind] = append(awbs[kind], awb)
		if moves(i) {
			moved[kind] = append(moved[kind], awb)
			f.Changed++
		}
		if len(docs) == chunk || i == n-1 {
			if _, err := db.Collection(store.OrdersCollection).InsertMany(ctx, docs); err != nil {
				return f, err
			}
			docs = docs[:0]
		}
	}
	sb := s.couriers
	sb.SetMany(awbs[kindB2C], sbcouriers.Step{Delhivery: &dlvInTransit})
	sb.SetMany(awbs[kindShiprocket], sbcouriers.Step{Shiprocket: &srInTransit})
	sb.SetMany(awbs[kindB2B], sbcouriers.Step{B2B: b2bInTransit})
	sb.SetMany(slices.Concat(awbs[kindSRNoData], awbs[kindB2BNoData]), sbcouriers.Step{Delhivery: &dlvInTransit})
	sb.SetMany(moved[kindB2C], sbcouriers.Step{Delhivery: &dlvOFD})
	sb.SetMany(moved[kindShiprocket], sbcouriers.Step{Shiprocket: &srOFD})
	sb.SetMany(moved[kindB2B], sbcouriers.Step{B2B: b2bOFD})
	sb.SetMany(slices.Concat(moved[kindSRNoData], moved[kindB2BNoData]), sbcouriers.Step{Delhivery: &dlvOFD})

	f.Polled[tracking.TrackerDelhivery] = len(awbs[kindB2C])
	f.Polled[tracking.TrackerShiprocket] = len(awbs[kindShiprocket]) + len(awbs[kindSRNoData])
	f.Polled[tracking.TrackerDelhiveryB2B] = len(awbs[kindB2B]) + len(awbs[kindB2BNoData])
	f.Polled[tracking.TrackerDelhiveryFallback] = len(awbs[kindSRNoData]) + len(awbs[kindB2BNoData])
	return f, nil
}

// fleetOrder names order i's AWB, courier_name and the raw status the last sweep recorded.
func fleetOrder(i, kind int) (awb, courierName, raw string) {
	dlvRaw := tracking.APIDelhivery + ":" + dlvInTransit.StatusType + "/" + dlvInTransit.Status + "/" + dlvInTransit.StatusCode
	switch kind {
	case kindB2B:
		return fmt.Sprintf("22%08d", i), tracking.CourierNameDelhiveryB2B, tracking.APIDelhiveryB2B + ":" + b2bInTransit
	case kindShiprocket:
		return fmt.Sprintf("1904%010d", i), tracking.CourierNameShiprocket, fmt.Sprintf("%s:%d/%s", tracking.APIShiprocket, srInTransit.Code, srInTransit.Label)
	case kindSRNoData:
		return fmt.Sprintf("5794%010d", i), tracking.CourierNameShiprocket, dlvRaw
	case kindB2BNoData:
		return fmt.Sprintf("23%08d", i), tracking.CourierNameDelhiveryB2B, dlvRaw
	}
	return fmt.Sprintf("5793%010d", i), tracking.CourierNameDelhivery, dlvRaw
}
