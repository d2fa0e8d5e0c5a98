package recovery

import (
	"testing"
	"time"
)

func TestDefaultCascadingIsHyperswitchs(t *testing.T) {
	want := map[int]time.Duration{0: time.Minute, 1: 3 * time.Hour, 2: 3 * time.Hour, 3: 6 * time.Hour, 5: 6 * time.Hour,
		6: 9 * time.Hour, 8: 9 * time.Hour, 9: 12 * time.Hour, 11: 12 * time.Hour, 12: 18 * time.Hour, 14: 18 * time.Hour}
	for n, d := range want {
		if got, ok := DefaultCascading.Delay(n); !ok || got != d {
			t.Errorf("Delay(%d) = %v, %v; want %v", n, got, ok, d)
		}
	}
	if _, ok := DefaultCascading.Delay(15); ok {
		t.Error("Delay(15) should be past the schedule")
	}
	var total time.Duration
	for n := 1; n <= 14; n++ {
		d, _ := DefaultCascading.Delay(n)
		total += d
	}
	if total != 141*time.Hour || DefaultCascading.Retries() != 14 {
		t.Errorf("14 retries over %v (want 141h), Retries()=%d", total, DefaultCascading.Retries())
	}
}

func TestNextRetryCascading(t *testing.T) {
	p := Policy{Algorithm: Cascading, Cascading: DefaultCascading}
	// Our first retry is Hyperswitch's n = 1: 3 h.
	if d, stop := NextRetry(p, 0, Decline{}); stop != Continue || d != 3*time.Hour {
		t.Errorf("first retry %v %q", d, stop)
	}
	if d, stop := NextRetry(p, 5, Classify("card_declined", "insufficient_funds", "")); stop != Continue || d != 9*time.Hour {
		t.Errorf("sixth retry %v %q", d, stop)
	}
	if _, stop := NextRetry(p, 14, Decline{}); stop != Exhausted {
		t.Errorf("after 14 retries: %q", stop)
	}
	// max_retry_count caps below the schedule's end.
	p.MaxRetryCount = 3
	if _, stop := NextRetry(p, 3, Decline{}); stop != Exhausted {
		t.Errorf("max_retry_count 3 after 3: %q", stop)
	}
	if _, stop := NextRetry(p, 2, Decline{}); stop != Continue {
		t.Errorf("max_retry_count 3 after 2: %q", stop)
	}
	// A hard decline stops cascading too.
	if _, stop := NextRetry(p, 0, Classify("card_declined", "stolen_card", "")); stop != HardDeclined {
		t.Errorf("stolen card: %q", stop)
	}
}

func TestPerProfileCascadingOverride(t *testing.T) {
	s := CascadingSchedule{StartAfter: 2 * time.Second, Frequencies: []Frequency{{3 * time.Second, 2}, {5 * time.Second, 1}}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	p := Policy{Algorithm: Cascading, Cascading: s}
	var got []time.Duration
	for n := 0; ; n++ {
		d, stop := NextRetry(p, n, Decline{})
		if stop != Continue {
			if stop != Exhausted || n != 3 {
				t.Errorf("stopped after %d with %q", n, stop)
			}
			break
		}
		got = append(got, d)
	}
	if len(got) != 3 || got[0] != 3*time.Second || got[1] != 3*time.Second || got[2] != 5*time.Second {
		t.Errorf("override delays %v", got)
	}
	for _, bad := range []CascadingSchedule{{}, {Frequencies: []Frequency{{0, 1}}}, {Frequencies: []Frequency{{time.Hour, 0}}}, {StartAfter: -1, Frequencies: []Frequency{{time.Hour, 1}}}} {
		if bad.Validate() == nil {
			t.Errorf("%+v validated", bad)
		}
	}
}

func TestNextRetrySmart(t *testing.T) {
	p := Policy{Algorithm: Smart, MaxRetryCount: 4}
	for _, tc := range []struct {
		name    string
		decline Decline
		done    int
		want    time.Duration
		stop    Stop
	}{
		{"transient soon", Classify("processing_error", "", ""), 0, time.Hour, Continue},
		{"insufficient funds waits a day", Classify("card_declined", "insufficient_funds", ""), 0, 24 * time.Hour, Continue},
		{"insufficient funds doubles", Classify("card_declined", "insufficient_funds", ""), 1, 48 * time.Hour, Continue},
		{"insufficient funds capped at 3 days", Classify("card_declined", "insufficient_funds", ""), 3, 72 * time.Hour, Continue},
		{"other soft grows", Classify("card_declined", "generic_decline", ""), 1, 12 * time.Hour, Continue},
		{"stolen card stops", Classify("card_declined", "stolen_card", ""), 0, 0, HardDeclined},
		{"closed account stops", Classify("card_declined", "account_closed", ""), 0, 0, HardDeclined},
		{"advice do_not_try_again stops", Classify("card_declined", "generic_decline", "do_not_try_again"), 0, 0, HardDeclined},
		{"max_retry_count", Classify("card_declined", "insufficient_funds", ""), 4, 0, Exhausted},
	} {
		d, stop := NextRetry(p, tc.done, tc.decline)
		if d != tc.want || stop != tc.stop {
			t.Errorf("%s: %v %q, want %v %q", tc.name, d, stop, tc.want, tc.stop)
		}
	}
	p.SmartScale = 1.0 / 3600 // hours become seconds in the demo
	if d, _ := NextRetry(p, 0, Classify("processing_error", "", "")); d != time.Second {
		t.Errorf("scaled %v", d)
	}
	if _, stop := NextRetry(Policy{Algorithm: Monitoring}, 0, Decline{}); stop != NoRetries {
		t.Errorf("monitoring retried: %q", stop)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		code, decline, advice string
		want                  DeclineClass
	}{
		{"", "", "", None},
		{"card_declined", "stolen_card", "", Hard},
		{"expired_card", "", "", Hard},
		{"card_declined", "do_not_honor", "do_not_try_again", Hard},
		{"card_declined", "insufficient_funds", "", InsufficientFunds},
		{"card_declined", "try_again_later", "", Transient},
		{"processing_error", "", "", Transient},
		{"card_declined", "do_not_honor", "", Soft},
		{"card_declined", "generic_decline", "", Soft},
		{"110", "", "", Soft},
	} {
		if got := Classify(tc.code, tc.decline, tc.advice).Class; got != tc.want {
			t.Errorf("Classify(%q,%q,%q) = %q, want %q", tc.code, tc.decline, tc.advice, got, tc.want)
		}
	}
}

func TestSmartWithoutMaxRetryCountStopsAtEight(t *testing.T) {
	p := Policy{Algorithm: Smart}
	if _, stop := NextRetry(p, 7, Decline{Class: Soft}); stop != Continue {
		t.Errorf("7 done: %q", stop)
	}
	if _, stop := NextRetry(p, SmartDefaultMaxRetries, Decline{Class: Soft}); stop != Exhausted {
		t.Errorf("8 done: %q", stop)
	}
}
