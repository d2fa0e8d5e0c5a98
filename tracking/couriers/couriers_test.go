package couriers

import (
	"net/http"
	"testing"
	"time"
)

func TestBatchesCoverEveryItemOnceInCeilNOverSizeBatches(t *testing.T) {
	for _, tc := range []struct{ n, size, want int }{
		{0, 50, 0}, {1, 50, 1}, {50, 50, 1}, {51, 50, 2}, {150, 50, 3}, {151, 50, 4}, {7, 1, 7}, {10, 3, 4},
	} {
		got := Batches(tc.n, tc.size)
		if len(got) != tc.want {
			t.Errorf("Batches(%d, %d): %d batches, want %d", tc.n, tc.size, len(got), tc.want)
		}
		next := 0
		for _, b := range got {
			if b[0] != next || b[1]-b[0] > tc.size || b[1] <= b[0] {
				t.Errorf("Batches(%d, %d): bad batch %v after %d", tc.n, tc.size, b, next)
			}
			next = b[1]
		}
		if next != tc.n {
			t.Errorf("Batches(%d, %d) covers %d items", tc.n, tc.size, next)
		}
	}
}

func TestParseISTReadsOffsetlessTimesAsIST(t *testing.T) {
	got, ok := ParseIST("2026-08-24T23:58:39.774")
	want := time.Date(2026, 8, 24, 18, 28, 39, 774e6, time.UTC)
	if !ok || !got.Equal(want) {
		t.Errorf("got %v %v, want %v", got, ok, want)
	}
	got, ok = ParseIST("2026-08-25 16:40:00")
	if !ok || !got.Equal(time.Date(2026, 8, 25, 11, 10, 0, 0, time.UTC)) {
		t.Errorf("space layout: %v %v", got, ok)
	}
	got, ok = ParseIST("2026-08-25T16:40:00Z")
	if !ok || !got.Equal(time.Date(2026, 8, 25, 16, 40, 0, 0, time.UTC)) {
		t.Errorf("an explicit offset is kept: %v", got)
	}
	if _, ok := ParseIST("yesterday"); ok {
		t.Error("garbage parsed")
	}
}

func TestRetryAfterReadsSecondsAndDatesWithAFloor(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	h := http.Header{}
	if got := RetryAfter(h, now, time.Minute, time.Second); got != time.Minute {
		t.Errorf("absent: %v", got)
	}
	h.Set("Retry-After", "7")
	if got := RetryAfter(h, now, time.Minute, time.Second); got != 7*time.Second {
		t.Errorf("seconds: %v", got)
	}
	h.Set("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat))
	if got := RetryAfter(h, now, time.Minute, time.Second); got != 90*time.Second {
		t.Errorf("date: %v", got)
	}
	h.Set("Retry-After", "0")
	if got := RetryAfter(h, now, time.Minute, 30*time.Second); got != 30*time.Second {
		t.Errorf("floor: %v", got)
	}
}
