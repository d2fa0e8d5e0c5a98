package recovery

import (
	"fmt"
	"time"

	// The profiles' time zones are looked up in the tz database compiled into
	// the binary: a container image without /usr/share/zoneinfo still knows
	// Asia/Kolkata, and every process agrees on the zones' rules.
	_ "time/tzdata"
)

// Adaptive times each retry by the merchant's own history: the slot of the
// allowed window where past retries after the same kind of decline
// succeeded most often (PickSlot). Its retry count and limits are the
// cascading schedule's.
const Adaptive Algorithm = "adaptive"

// DefaultTimeZone is the zone adaptive timing reads hours and days of the
// month in when the profile names none.
const DefaultTimeZone = "Asia/Kolkata"

// Adaptive timing's thresholds.
const (
	// AdaptiveMinSamples is the fewest past attempts a slot needs before its
	// success rate is trusted; when no slot of the window has that many, the
	// retry falls back to the cascading schedule's time.
	AdaptiveMinSamples = 30
	// AdaptiveWindow is how far past the cascading schedule's time a retry may
	// be moved: a day, so every hour of the day is within reach.
	AdaptiveWindow = 24 * time.Hour
	// AdaptiveLookback is how far back the statistics read attempts.
	AdaptiveLookback = 90 * 24 * time.Hour
)

// LoadTimeZone resolves a profile's time zone; "" is DefaultTimeZone.
func LoadTimeZone(name string) (*time.Location, error) {
	if name == "" {
		name = DefaultTimeZone
	}
	return time.LoadLocation(name)
}

// SlotKey is one cell of the statistics: the class of the decline a retry
// followed, and the hour of the day (0–23) and day of the month (1–31) it
// was made in, in the profile's time zone.
type SlotKey struct {
	Class DeclineClass
	Hour  int
	Day   int
}

// SlotCount is how many retries of a cell were made and how many succeeded.
type SlotCount struct {
	Attempts  int
	Successes int
}

// SlotStats are a merchant's past retries, counted per cell.
type SlotStats map[SlotKey]SlotCount

// Add counts one retry made at at (read in loc) after a decline of class.
func (s SlotStats) Add(class DeclineClass, at time.Time, loc *time.Location, succeeded bool) {
	local := at.In(loc)
	k := SlotKey{Class: statsClass(class), Hour: local.Hour(), Day: local.Day()}
	c := s[k]
	c.Attempts++
	if succeeded {
		c.Successes++
	}
	s[k] = c
}

// statsClass folds "no decline known" into the general soft class.
func statsClass(c DeclineClass) DeclineClass {
	if c == None {
		return Soft
	}
	return c
}

// SlotChoice is where adaptive timing put a retry, and why: the workflow
// keeps it for the recovery_state query.
type SlotChoice struct {
	At time.Time `json:"at"`
	// Adaptive is false when the retry kept the cascading schedule's time.
	Adaptive  bool   `json:"adaptive"`
	Class     string `json:"decline_class"`
	Hour      int    `json:"hour,omitempty"`
	Day       int    `json:"day,omitempty"`
	Attempts  int    `json:"attempts,omitempty"`
	Successes int    `json:"successes,omitempty"`
	// Explanation reads e.g. "slot 09:00 IST, day 1: 41 % of 212 past attempts".
	Explanation string `json:"explanation"`
}

// PickSlot chooses the time of a retry after a decline of class, between
// earliest (the cascading schedule's time) and latest: earliest itself or
// the start of any later hour of loc's clock, whichever cell has the best
// success rate among those with at least minSamples past attempts (ties go
// to the earlier time). With no such cell it keeps earliest.
func PickSlot(stats SlotStats, class DeclineClass, earliest, latest time.Time, loc *time.Location, minSamples int) SlotChoice {
	class = statsClass(class)
	best := SlotChoice{At: earliest, Class: string(class)}
	for _, at := range candidateSlots(earliest, latest, loc) {
		local := at.In(loc)
		c := stats[SlotKey{Class: class, Hour: local.Hour(), Day: local.Day()}]
		if c.Attempts < minSamples || c.Attempts == 0 {
			continue
		}
		if best.Adaptive && c.Successes*best.Attempts <= best.Successes*c.Attempts {
			continue
		}
		best = SlotChoice{At: at, Adaptive: true, Class: string(class), Hour: local.Hour(), Day: local.Day(),
			Attempts: c.Attempts, Successes: c.Successes}
	}
	if !best.Adaptive {
		best.Explanation = fmt.Sprintf("cascading schedule: no slot in the window has %d past attempts after a %s decline", minSamples, class)
		return best
	}
	local := best.At.In(loc)
	best.Explanation = fmt.Sprintf("slot %s, day %d: %d %% of %d past attempts", local.Format("15:04 MST"), best.Day,
		best.Successes*100/best.Attempts, best.Attempts)
	return best
}

// candidateSlots are earliest and the start of every later hour of loc's
// clock up to latest. Hours are counted on the local clock, so a zone half
// an hour off UTC (India) gets its own whole hours.
func candidateSlots(earliest, latest time.Time, loc *time.Location) []time.Time {
	out := []time.Time{earliest}
	local := earliest.In(loc)
	for h := 1; ; h++ {
		at := time.Date(local.Year(), local.Month(), local.Day(), local.Hour()+h, 0, 0, 0, loc)
		if at.After(latest) {
			return out
		}
		if at.After(out[len(out)-1]) { // a clock change may repeat an hour
			out = append(out, at)
		}
	}
}
