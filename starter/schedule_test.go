package starter

import (
	"reflect"
	"testing"

	"orderflow/config"
	"orderflow/tracking"
	"orderflow/workflows"
)

func TestSweepInputRunsTheConfiguredCouriersTrackersAndTheFallbackWhenItCanHelp(t *testing.T) {
	cfg := config.Default()
	names := func(in workflows.TrackingSweepInput) []string {
		var out []string
		for _, tr := range in.Trackers {
			out = append(out, tr.Name)
		}
		return out
	}
	if got := names(SweepInput(cfg)); len(got) != 0 {
		t.Errorf("no courier configured: %v", got)
	}
	cfg.Couriers.Delhivery.BaseURL = "http://127.0.0.1:1"
	if got := names(SweepInput(cfg)); !reflect.DeepEqual(got, []string{tracking.TrackerDelhivery}) {
		t.Errorf("Delhivery alone has no fallback to run: %v", got)
	}
	cfg.Couriers.Shiprocket.BaseURL = "http://127.0.0.1:1"
	withShiprocket := []string{tracking.TrackerDelhivery, tracking.TrackerShiprocket, tracking.TrackerDelhiveryFallback}
	if got := names(SweepInput(cfg)); !reflect.DeepEqual(got, withShiprocket) {
		t.Errorf("Delhivery and Shiprocket: %v, want %v", got, withShiprocket)
	}
	cfg.Couriers.DelhiveryB2B.BaseURL = "http://127.0.0.1:1"
	in := SweepInput(cfg)
	want := []string{tracking.TrackerDelhivery, tracking.TrackerDelhiveryB2B, tracking.TrackerShiprocket, tracking.TrackerDelhiveryFallback}
	if got := names(in); !reflect.DeepEqual(got, want) {
		t.Errorf("trackers %v, want %v", got, want)
	}
	if in.Trackers[1].BatchSize != 50 || in.Trackers[3].BatchSize != 250 || in.PartitionSize != 2000 || in.PartitionsPerRun != 20 {
		t.Errorf("sizes %+v", in)
	}
	spec, action, policy := scheduleParts(cfg)
	if spec.Intervals[0].Every != cfg.Sweep.Every || action.ID != cfg.Sweep.ScheduleID || action.TaskQueue != cfg.Temporal.TaskQueue ||
		policy.Overlap.String() != "Skip" || policy.CatchupWindow != cfg.Sweep.CatchupWindow {
		t.Errorf("schedule %+v %+v %+v", spec, action, policy)
	}
}
