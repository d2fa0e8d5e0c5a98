package delivery

import (
	"strings"
	"testing"
	"time"
)

func TestJudgeCountsOnlyServerSideFailures(t *testing.T) {
	cases := []struct {
		code int
		want Verdict
	}{
		{200, Healthy}, {204, Healthy},
		{500, Failing}, {502, Failing}, {503, Failing}, {504, Failing},
		{408, Failing}, {429, Failing}, {0, Failing}, // 0: a timeout or a transport error
		{410, Gone},
		{400, Neutral}, {401, Neutral}, {403, Neutral}, {404, Neutral}, {422, Neutral}, {301, Neutral},
	}
	for _, c := range cases {
		if got := Judge([]Attempt{{StatusCode: c.code}}); got != c.want {
			t.Errorf("answer %d judged %v, want %v", c.code, got, c.want)
		}
	}
	if got := Judge(nil); got != Neutral {
		t.Errorf("no POST judged %v, want neutral", got)
	}
	// A 401 answered again with fresh credentials: the last answer decides.
	if got := Judge([]Attempt{{StatusCode: 401}, {StatusCode: 503}}); got != Failing {
		t.Errorf("401 then 503 judged %v, want failing", got)
	}
}

// The breaker opens after N failures of the counted kinds in a row, and
// never on a 400 or a 404, however many.
func TestBreakerOpensAfterThresholdOfCountedFailuresOnly(t *testing.T) {
	s := DefaultBreakerSettings()
	s.FailureThreshold = 3
	for _, code := range []int{500, 503, 408, 429, 0} {
		failures := 0
		for i := 0; i < 3; i++ {
			if s.Opens(failures) {
				t.Fatalf("answer %d: open after %d failures, want closed before %d", code, failures, s.FailureThreshold)
			}
			if Judge([]Attempt{{StatusCode: code}}) == Failing {
				failures++
			}
		}
		if !s.Opens(failures) {
			t.Errorf("answer %d three times: still closed", code)
		}
	}
	for _, code := range []int{400, 404} {
		failures := 0
		for i := 0; i < 100; i++ {
			if Judge([]Attempt{{StatusCode: code}}) == Failing {
				failures++
			}
		}
		if s.Opens(failures) {
			t.Errorf("answer %d opened the breaker", code)
		}
	}
}

func TestBreakerExpiresAfterDisableAfter(t *testing.T) {
	s := DefaultBreakerSettings()
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	if s.Expired(time.Time{}, now) || s.Expired(now.Add(-119*time.Hour), now) {
		t.Error("expired before five days of failing")
	}
	if !s.Expired(now.Add(-120*time.Hour), now) {
		t.Error("not expired after five days of failing")
	}
}

func TestBreakerSettingsNameEachBadField(t *testing.T) {
	if err := DefaultBreakerSettings().Validate("delivery.breaker."); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	err := BreakerSettings{FailureThreshold: 0, HalfOpenInterval: -time.Second, DrainRatePerSecond: 0, DisableAfter: 0}.Validate("delivery.breaker.")
	if err == nil {
		t.Fatal("zero settings accepted")
	}
	for _, key := range []string{"failure_threshold", "half_open_interval", "drain_rate_per_second", "disable_after"} {
		if !strings.Contains(err.Error(), "delivery.breaker."+key) {
			t.Errorf("error %q does not name %s", err, key)
		}
	}
}
