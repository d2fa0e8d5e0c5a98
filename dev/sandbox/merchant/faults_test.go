package merchant

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The injected failures are about the asked rate, never reach the receiver,
// and replay identically for the same seed whatever the delivery order.
func TestFaultsRateAndReplay(t *testing.T) {
	run := func(ids []string) (map[string][]int, *Merchant, FaultStats) {
		m := New("k")
		f := m.WithFaults(Faults{Seed: 7, ServerErrorRate: 0.3})
		codes := map[string][]int{}
		for _, id := range ids {
			req := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(`{}`))
			req.Header.Set("webhook-id", id)
			rec := httptest.NewRecorder()
			f.ServeHTTP(rec, req)
			codes[id] = append(codes[id], rec.Code)
		}
		return codes, m, f.Stats()
	}
	var ids, reversed []string
	for i := range 1000 {
		ids = append(ids, fmt.Sprintf("msg_%d", i%500))
	}
	for i := len(ids) - 1; i >= 0; i-- {
		reversed = append(reversed, ids[i])
	}
	a, m, st := run(ids)
	b, _, _ := run(reversed)
	if st.Calls != 1000 || st.ServerErrors < 250 || st.ServerErrors > 350 {
		t.Errorf("stats %+v, want about 300 of 1000 failed", st)
	}
	if got := len(m.Received()); got != st.Calls-st.ServerErrors {
		t.Errorf("receiver saw %d deliveries, want %d (failed ones never reach it)", got, st.Calls-st.ServerErrors)
	}
	for id, codes := range a {
		if fmt.Sprint(codes) != fmt.Sprint(b[id]) {
			t.Fatalf("%s: %v in order, %v reversed", id, codes, b[id])
		}
	}

	capped := New("k").WithFaults(Faults{Seed: 7, ServerErrorRate: 1, MaxFailuresPerID: 1})
	var got []int
	for range 3 {
		req := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(`{}`))
		req.Header.Set("webhook-id", "msg_capped")
		rec := httptest.NewRecorder()
		capped.ServeHTTP(rec, req)
		got = append(got, rec.Code)
	}
	if got[0] != http.StatusInternalServerError || got[1] == http.StatusInternalServerError || got[2] == http.StatusInternalServerError {
		t.Errorf("MaxFailuresPerID 1 at rate 1: codes %v, want one 500 then none", got)
	}
}
