package recovery

import (
	"strings"
	"testing"
	"time"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := LoadTimeZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// seed counts n retries made at the given local hour and day, ok of them successful.
func seed(s SlotStats, class DeclineClass, loc *time.Location, day, hour, n, ok int) {
	at := time.Date(2026, time.March, day, hour, 0, 0, 0, loc)
	for i := range n {
		s.Add(class, at, loc, i < ok)
	}
}

func TestPickSlotChoosesTheBestObservedSlot(t *testing.T) {
	ist := mustZone(t, "")
	stats := SlotStats{}
	seed(stats, InsufficientFunds, ist, 1, 9, 212, 87)  // 41 %
	seed(stats, InsufficientFunds, ist, 1, 14, 100, 20) // 20 %
	seed(stats, Soft, ist, 1, 11, 100, 90)              // another class: not this retry's
	earliest := time.Date(2026, time.April, 30, 22, 17, 0, 0, ist)
	got := PickSlot(stats, InsufficientFunds, earliest, earliest.Add(AdaptiveWindow), ist, AdaptiveMinSamples)
	want := time.Date(2026, time.May, 1, 9, 0, 0, 0, ist)
	if !got.Adaptive || !got.At.Equal(want) {
		t.Fatalf("picked %+v, want %v", got, want)
	}
	if got.Explanation != "slot 09:00 IST, day 1: 41 % of 212 past attempts" {
		t.Errorf("explanation %q", got.Explanation)
	}
	if got.Hour != 9 || got.Day != 1 || got.Attempts != 212 || got.Successes != 87 || got.Class != string(InsufficientFunds) {
		t.Errorf("choice %+v", got)
	}
}

func TestPickSlotFallsBackToCascadingWhenDataIsThin(t *testing.T) {
	ist := mustZone(t, "Asia/Kolkata")
	stats := SlotStats{}
	seed(stats, Soft, ist, 1, 9, AdaptiveMinSamples-1, AdaptiveMinSamples-1) // every one succeeded, but too few
	earliest := time.Date(2026, time.April, 30, 22, 17, 0, 0, ist)
	got := PickSlot(stats, Soft, earliest, earliest.Add(AdaptiveWindow), ist, AdaptiveMinSamples)
	if got.Adaptive || !got.At.Equal(earliest) {
		t.Fatalf("picked %+v, want the cascading time %v", got, earliest)
	}
	if !strings.HasPrefix(got.Explanation, "cascading schedule:") || !strings.Contains(got.Explanation, "30 past attempts") {
		t.Errorf("explanation %q", got.Explanation)
	}
	if empty := PickSlot(SlotStats{}, None, earliest, earliest.Add(AdaptiveWindow), ist, AdaptiveMinSamples); empty.Adaptive ||
		!empty.At.Equal(earliest) || empty.Class != string(Soft) {
		t.Errorf("with no statistics: %+v", empty)
	}
}

func TestPickSlotStaysInsideTheWindow(t *testing.T) {
	ist := mustZone(t, "")
	stats := SlotStats{}
	seed(stats, Soft, ist, 1, 9, 100, 90)  // the best, but past the window
	seed(stats, Soft, ist, 30, 23, 50, 10) // inside it
	earliest := time.Date(2026, time.April, 30, 22, 17, 0, 0, ist)
	latest := earliest.Add(3 * time.Hour)
	got := PickSlot(stats, Soft, earliest, latest, ist, AdaptiveMinSamples)
	if want := time.Date(2026, time.April, 30, 23, 0, 0, 0, ist); !got.Adaptive || !got.At.Equal(want) {
		t.Fatalf("picked %+v, want %v", got, want)
	}
	// The earliest time's own cell counts too, and a tie keeps the earlier time.
	seed(stats, Soft, ist, 30, 22, 50, 10)
	if got := PickSlot(stats, Soft, earliest, latest, ist, AdaptiveMinSamples); !got.At.Equal(earliest) {
		t.Errorf("tie picked %v, want the earliest %v", got.At, earliest)
	}
}

// The same retries, counted and read in another zone, fall in other hours:
// a retry at 09:00 India time is one at 03:30 UTC.
func TestPickSlotReadsHoursInTheProfilesTimeZone(t *testing.T) {
	ist, utc := mustZone(t, "Asia/Kolkata"), mustZone(t, "UTC")
	made := time.Date(2026, time.March, 1, 9, 0, 0, 0, ist) // 03:30 UTC
	earliest := time.Date(2026, time.April, 30, 18, 0, 0, 0, time.UTC)
	pick := func(loc *time.Location) SlotChoice {
		stats := SlotStats{}
		for i := range 40 {
			stats.Add(Soft, made, loc, i < 30)
		}
		return PickSlot(stats, Soft, earliest, earliest.Add(AdaptiveWindow), loc, AdaptiveMinSamples)
	}
	inIndia, inUTC := pick(ist), pick(utc)
	if want := time.Date(2026, time.May, 1, 9, 0, 0, 0, ist); !inIndia.At.Equal(want) || inIndia.Hour != 9 {
		t.Errorf("Asia/Kolkata picked %+v, want %v", inIndia, want)
	}
	if want := time.Date(2026, time.May, 1, 3, 0, 0, 0, time.UTC); !inUTC.At.Equal(want) || inUTC.Hour != 3 {
		t.Errorf("UTC picked %+v, want %v", inUTC, want)
	}
	if !strings.Contains(inIndia.Explanation, "09:00 IST") || !strings.Contains(inUTC.Explanation, "03:00 UTC") {
		t.Errorf("explanations %q / %q", inIndia.Explanation, inUTC.Explanation)
	}
}

func TestLoadTimeZoneRefusesUnknownZones(t *testing.T) {
	if _, err := LoadTimeZone("Asia/Atlantis"); err == nil {
		t.Error("an unknown zone loaded")
	}
}

func TestAdaptiveFollowsTheCascadingCountAndWidensTheSpan(t *testing.T) {
	p := Policy{Algorithm: Adaptive, Cascading: DefaultCascading}
	if !ValidAlgorithm(Adaptive) {
		t.Fatal("adaptive is not a valid algorithm")
	}
	d, stop := NextRetry(p, 0, Decline{Class: Soft})
	if want, _ := DefaultCascading.Delay(1); stop != Continue || d != want {
		t.Errorf("first adaptive wait %v (%q), want the cascading %v", d, stop, want)
	}
	if _, stop := NextRetry(p, DefaultCascading.Retries(), Decline{Class: Soft}); stop != Exhausted {
		t.Errorf("past the schedule: %q", stop)
	}
	cascading := Policy{Algorithm: Cascading, Cascading: DefaultCascading}
	if got, want := p.Span(), cascading.Span()+time.Duration(DefaultCascading.Retries())*AdaptiveWindow; got != want {
		t.Errorf("span %v, want %v", got, want)
	}
}
