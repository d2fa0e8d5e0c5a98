// Package couriers is what every courier poll client shares: the Poller
// interface each client under tracking/couriers/<courier> implements, the
// Registry the worker fills with the configured ones, the result of tracking
// one shipment, what its courier status means for the order, and the
// rate-limit error.
package couriers

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"orderflow/tracking"
)

// Kind says what a courier status means for the order.
type Kind string

const (
	// Forward is the normal journey (and its terminal outcomes: delivered, cancelled, lost…).
	Forward Kind = "forward"
	// RTO is the parcel returning to origin after failed delivery or a late cancellation.
	RTO Kind = "rto"
	// CustomerReturn is a return the customer asked for (reverse pickup): never RTO.
	CustomerReturn Kind = "customer_return"
	// Unknown is a status no table knows: kept raw, never guessed.
	Unknown Kind = "unknown"
)

// Mapping is what one courier status maps to. Status is a canonical status,
// or "" when the status must not change the order's tracking_status.
type Mapping struct {
	Status string
	Kind   Kind
}

// Shipment is one AWB's answer from a courier.
type Shipment struct {
	AWB string
	// Found is false when the courier has no data for the AWB.
	Found bool
	// Raw is the courier's own status, e.g. "RT/In Transit/RT-101"; kept for unknown statuses.
	Raw       string
	Mapping   Mapping
	EventTime time.Time // zero when the courier gave no usable time
}

// IST is India Standard Time: Delhivery and Shiprocket print timestamps in it without an offset.
var IST = time.FixedZone("IST", 5*3600+30*60)

// ParseIST reads a timestamp printed without an offset as IST; one with an offset keeps it.
func ParseIST(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05", "02 Jan 2006 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, IST); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// RateLimitedError is a courier saying "too many requests" (Delhivery's WAF
// 403, anyone's 429). Wait is how long to back off before the next call.
type RateLimitedError struct {
	Courier    string
	StatusCode int
	Wait       time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("%s: rate limited (HTTP %d), retry after %s", e.Courier, e.StatusCode, e.Wait)
}

// RetryAfter reads a Retry-After header (seconds or an HTTP date), or def when
// absent or unreadable; it never returns less than min.
func RetryAfter(h http.Header, now time.Time, def, min time.Duration) time.Duration {
	wait := def
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
			wait = time.Duration(secs) * time.Second
		} else if at, err := http.ParseTime(v); err == nil {
			wait = at.Sub(now)
		}
	}
	if wait < min {
		wait = min
	}
	return wait
}

// Batches splits n items into batches of at most size: ceil(n/size) of them.
func Batches(n, size int) [][2]int {
	if size <= 0 || n <= 0 {
		return nil
	}
	out := make([][2]int, 0, (n+size-1)/size)
	for lo := 0; lo < n; lo += size {
		out = append(out, [2]int{lo, min(lo+size, n)})
	}
	return out
}

// ReturnShipmentStatus is what a status of a customer return shipment's own
// AWB, mapped through the courier's table, means for its order: return while
// it travels, returned once it reaches the seller, "" when it changes nothing
// (unknown, cancelled, lost). A return shipment is never RTO: its RTO-looking
// codes are the return on its way back (rto delivered: it reached the
// seller), as a Shiprocket is_return shipment's are.
func ReturnShipmentStatus(m Mapping) string {
	switch {
	case m.Kind == Unknown:
		return ""
	case m.Kind == CustomerReturn:
		return m.Status
	case m.Status == tracking.RTODelivered:
		return tracking.Returned
	case tracking.IsRTO(m.Status):
		return tracking.Return
	}
	return tracking.ReturnStatus(m.Status)
}
