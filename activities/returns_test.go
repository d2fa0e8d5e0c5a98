package activities

import (
	"testing"
	"time"
)

// The return window opens at delivery and lasts sweep.return_window: an order
// delivered earlier, or never, is not polled, and a zero window polls none.
func TestReturnWindowRule(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	window := 30 * 24 * time.Hour
	for _, tc := range []struct {
		name      string
		delivered time.Time
		window    time.Duration
		want      bool
	}{
		{"delivered an hour ago", now.Add(-time.Hour), window, true},
		{"delivered exactly a window ago", now.Add(-window), window, true},
		{"delivered a second before the window", now.Add(-window - time.Second), window, false},
		{"never delivered", time.Time{}, window, false},
		{"window zero disables", now.Add(-time.Hour), 0, false},
	} {
		if got := inReturnWindow(tc.delivered, now, tc.window); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}
