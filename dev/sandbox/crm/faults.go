package crm

import (
	"net/http"
	"net/http/httptest"
	"orderflow/dev/sandbox/faultdice"
	"strings"
	"sync"
	"time"
)

// Faults scripts how a real CRM misbehaves under load. Every decision is a
// pure function of Seed, the call's Idempotency-Key and how many calls with
// that key came before, so a run can be replayed whatever order the calls
// arrive in.
type Faults struct {
	Seed int64
	// ServerErrorRate is the share of cancel-order calls answered 500 without
	// being processed.
	ServerErrorRate float64
	// TimeoutRate is the share of calls that are processed (and recorded, maybe
	// as 2xx) but answered only after Hold: the client gives up first, which is
	// exactly the window the Idempotency-Key exists for.
	TimeoutRate float64
	Hold        time.Duration
	// RejectEachTokenOnce answers 401 exactly once per token, to its k-th
	// cancel-order call (k from 2 to 6, drawn from Seed and the order in which
	// tokens were first seen), as a CRM revoking sessions would. Not the first
	// call: a CRM refusing every fresh token on first use could never be
	// satisfied by a client that refreshes once per attempt from a freshly
	// restarted worker (the first chaos runs found that livelock).
	RejectEachTokenOnce bool
	// MaxFaultsPerKey, when set, lets a key's calls through after that many
	// 500s and timeouts: at 30 % + 5 %, one key in a few hundred would
	// otherwise draw eight faults in a row, and the client's doubling back-off
	// (1 s … 10 min) would outlast a bounded test run.
	MaxFaultsPerKey int
}

// FaultStats counts the faults injected so far.
type FaultStats struct {
	Calls           int `json:"calls"`
	ServerErrors    int `json:"server_errors"`
	Timeouts        int `json:"timeouts"`
	TokenRejections int `json:"token_rejections"`
}

// Faulty is the CRM behind a fault injector; it serves the same routes.
type Faulty struct {
	crm    *CRM
	faults Faults
	inner  http.Handler

	mu          sync.Mutex
	callsByKey  map[string]int
	faultsByKey map[string]int // 500s and timeouts given to each key, for MaxFaultsPerKey
	tokens      map[string]*tokenUse
	stats       FaultStats
	calm        bool // every call passes, uncounted (SetCalm)
}

// WithFaults wraps the CRM's handler with f.
func (c *CRM) WithFaults(f Faults) *Faulty {
	return &Faulty{crm: c, faults: f, inner: c.Handler(), callsByKey: map[string]int{}, faultsByKey: map[string]int{}, tokens: map[string]*tokenUse{}}
}

// Stats returns the faults injected so far.
func (f *Faulty) Stats() FaultStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// SetCalm turns the injected faults off (true) or back on: a test phase
// whose only fault is its own (a refused connection, a wrong URL) runs on a
// calm CRM. Calls made while calm are neither counted nor remembered per key
// or token.
func (f *Faulty) SetCalm(calm bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calm = calm
}

type fault int

const (
	pass fault = iota
	serverError
	timeout
	tokenRejected
)

func (f *Faulty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != CancelPath {
		f.inner.ServeHTTP(w, r)
		return
	}
	switch f.decide(r) {
	case tokenRejected:
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
	case serverError:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "injected"})
	case timeout:
		rec := httptest.NewRecorder()
		f.inner.ServeHTTP(rec, r)
		select {
		case <-r.Context().Done():
			return // the client gave up, as intended
		case <-time.After(f.faults.Hold):
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	default:
		f.inner.ServeHTTP(w, r)
	}
}

func (f *Faulty) decide(r *http.Request) fault {
	key := r.Header.Get("Idempotency-Key")
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calm {
		return pass
	}
	f.stats.Calls++
	if f.faults.RejectEachTokenOnce && tok != "" && f.tokenCall(tok) {
		f.stats.TokenRejections++
		return tokenRejected
	}
	n := f.callsByKey[key]
	f.callsByKey[key] = n + 1
	if f.faults.MaxFaultsPerKey > 0 && f.faultsByKey[key] >= f.faults.MaxFaultsPerKey {
		return pass
	}
	u := faultdice.Unit(f.faults.Seed, key, n)
	switch {
	case u < f.faults.ServerErrorRate:
		f.stats.ServerErrors++
		f.faultsByKey[key]++
		return serverError
	case u < f.faults.ServerErrorRate+f.faults.TimeoutRate:
		f.stats.Timeouts++
		f.faultsByKey[key]++
		return timeout
	}
	return pass
}

// tokenUse is how often a token was presented and on which call it is rejected.
type tokenUse struct {
	calls, rejectOn int
}

// tokenCall counts a call with tok and reports whether it is the one rejected.
func (f *Faulty) tokenCall(tok string) bool {
	u, ok := f.tokens[tok]
	if !ok {
		u = &tokenUse{rejectOn: 2 + int(faultdice.Unit(f.faults.Seed, "token", len(f.tokens))*5)}
		f.tokens[tok] = u
	}
	u.calls++
	return u.calls == u.rejectOn
}
