package couriers

import (
	"net/http"
	"slices"
	"time"
)

// delay holds a tracking answer for the configured latency (or until the caller gives up).
func (s *Sandbox) delay(r *http.Request) {
	if s.o.Latency <= 0 {
		return
	}
	t := time.NewTimer(s.o.Latency)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// CallTimes lists when each admitted tracking call of api arrived (Options.RecordCalls).
func (s *Sandbox) CallTimes(api string) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.callLog[api])
}

// SetMany puts many shipments on one step at once, as of now: how a
// benchmark seeds thousands of shipments (and later moves a share of them).
func (s *Sandbox) SetMany(awbs []string, st Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, awb := range awbs {
		switch {
		case st.Delhivery != nil:
			s.delhivery[awb] = stamped[DelhiveryStatus]{v: *st.Delhivery, at: now}
		case st.Shiprocket != nil:
			s.shiprocket[awb] = stamped[ShiprocketStatus]{v: *st.Shiprocket, at: now}
		case st.B2B != "":
			s.b2b[awb] = stamped[string]{v: st.B2B, at: now}
		}
	}
}
