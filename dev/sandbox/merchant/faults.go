package merchant

import (
	"net/http"
	"orderflow/dev/sandbox/faultdice"
	"sync"
)

// Faults scripts a merchant endpoint that fails under load: ServerErrorRate of
// the POSTs are answered 500 before being looked at. Each decision is a pure
// function of Seed, the delivery's webhook-id and how many deliveries with
// that id came before, so a seed replays the same faults whatever order the
// deliveries arrive in.
type Faults struct {
	Seed            int64
	ServerErrorRate float64
	// MaxFailuresPerID caps the failures of one webhook-id (0: no cap): a
	// run can then bound how long the sender's retry schedule keeps it waiting.
	MaxFailuresPerID int
}

// FaultStats counts the deliveries and the faults injected so far.
type FaultStats struct {
	Calls        int `json:"calls"`
	ServerErrors int `json:"server_errors"`
}

// Faulty is the merchant receiver behind a fault injector; it serves the same routes.
type Faulty struct {
	faults Faults
	inner  http.Handler

	mu        sync.Mutex
	callsByID map[string]int
	failsByID map[string]int
	stats     FaultStats
}

// WithFaults wraps the receiver's handler with f.
func (m *Merchant) WithFaults(f Faults) *Faulty {
	return &Faulty{faults: f, inner: m.Handler(), callsByID: map[string]int{}, failsByID: map[string]int{}}
}

// Stats returns the faults injected so far.
func (f *Faulty) Stats() FaultStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

func (f *Faulty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/webhooks" || !f.fail(r.Header.Get("webhook-id")) {
		f.inner.ServeHTTP(w, r)
		return
	}
	w.WriteHeader(http.StatusInternalServerError)
}

func (f *Faulty) fail(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stats.Calls++
	n := f.callsByID[id]
	f.callsByID[id] = n + 1
	capped := f.faults.MaxFailuresPerID > 0 && f.failsByID[id] >= f.faults.MaxFailuresPerID
	if !capped && faultdice.Unit(f.faults.Seed, id, n) < f.faults.ServerErrorRate {
		f.failsByID[id]++
		f.stats.ServerErrors++
		return true
	}
	return false
}
