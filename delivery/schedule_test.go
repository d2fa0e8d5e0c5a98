package delivery

import (
	"reflect"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
)

func TestBackoffScheduleFollowsTemporalIntervals(t *testing.T) {
	s := Backoff(time.Second, 2, 10*time.Minute)
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600}
	for i, w := range want {
		d, more := s.After(i + 1)
		if !more || d != w*time.Second {
			t.Errorf("after attempt %d: %v (more %v), want %v", i+1, d, more, w*time.Second)
		}
	}
	if d, more := s.After(10_000); !more || d != 10*time.Minute {
		t.Errorf("a very late attempt: %v, %v; want the cap, never an end", d, more)
	}
	if d, more := Backoff(time.Second, 2, 0).After(200); !more || d <= 0 {
		t.Errorf("uncapped overflow: %v, %v", d, more)
	}
}

func TestDelaysScheduleWaitsEachDelayThenGivesUp(t *testing.T) {
	s := Delays(time.Minute, 5*time.Minute, time.Hour)
	for i, w := range []time.Duration{time.Minute, 5 * time.Minute, time.Hour} {
		if d, more := s.After(i + 1); !more || d != w {
			t.Errorf("after attempt %d: %v (more %v), want %v", i+1, d, more, w)
		}
	}
	if _, more := s.After(4); more {
		t.Error("a fourth retry after a list of three delays")
	}
}

func TestRetryPolicyOfEachShape(t *testing.T) {
	got := Backoff(time.Second, 2, 10*time.Minute).RetryPolicy("A", "B")
	want := &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
		NonRetryableErrorTypes: []string{"A", "B"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("back-off policy %+v, want %+v", got, want)
	}
	got = Delays(time.Minute, 5*time.Minute).RetryPolicy("C")
	want = &temporal.RetryPolicy{InitialInterval: time.Minute, BackoffCoefficient: 1, NonRetryableErrorTypes: []string{"C"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("list policy %+v, want %+v", got, want)
	}
}

func TestWindowEndsAScheduleBeforeTheNextTryWouldStartPastIt(t *testing.T) {
	s := Backoff(time.Second, 2, time.Minute).WithWindow(10 * time.Second)
	if d, more := s.Next(3, 5*time.Second); !more || d != 4*time.Second {
		t.Errorf("inside the window: %v, %v; want 4s, true", d, more)
	}
	if _, more := s.Next(3, 7*time.Second); more {
		t.Error("a try 11s after the first scheduling, past a 10s window")
	}
	if _, more := Backoff(time.Second, 2, time.Minute).Next(3, 1000*time.Hour); !more {
		t.Error("a schedule without a window gave up")
	}
	if _, more := Delays(time.Second).WithWindow(time.Hour).Next(2, 0); more {
		t.Error("a window extended a list past its last delay")
	}
}
