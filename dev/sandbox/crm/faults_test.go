package crm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestFaultyCRMRejectsEachTokenOnceAndInjectsScriptedFaults(t *testing.T) {
	c := New("id", "secret", time.Hour)
	f := c.WithFaults(Faults{Seed: 3, ServerErrorRate: 0.3, TimeoutRate: 0.05, Hold: 50 * time.Millisecond, RejectEachTokenOnce: true})
	srv := httptest.NewServer(f)
	defer srv.Close()

	tok := fetchToken(t, srv.URL)
	codes := map[int]int{}
	for i := range 400 {
		codes[cancel(t, srv.URL, tok, fmt.Sprintf("key-%d", i))]++
	}
	st := f.Stats()
	if st.TokenRejections != 1 || codes[401] != 1 {
		t.Errorf("token rejections %d, 401s %d: want the token rejected exactly once", st.TokenRejections, codes[401])
	}
	if codes[500] != st.ServerErrors || st.ServerErrors < 90 || st.ServerErrors > 150 {
		t.Errorf("%d 500s answered, %d injected, want about 30%% of 399", codes[500], st.ServerErrors)
	}
	// A timed-out call is still processed: the CRM saw it and answered 2xx (late).
	if codes[200] != len(c.Accepted()) || len(c.Accepted()) != 399-st.ServerErrors {
		t.Errorf("200s %d, accepted %d, want %d", codes[200], len(c.Accepted()), 399-st.ServerErrors)
	}
	if st.Timeouts == 0 {
		t.Error("no timeouts injected in 399 calls at 5%")
	}

	// The same seed and the same calls replay the same faults.
	again := New("id", "secret", time.Hour).WithFaults(Faults{Seed: 3, ServerErrorRate: 0.3, TimeoutRate: 0.05, Hold: time.Millisecond, RejectEachTokenOnce: true})
	srv2 := httptest.NewServer(again)
	defer srv2.Close()
	tok2 := fetchToken(t, srv2.URL)
	for i := range 400 {
		cancel(t, srv2.URL, tok2, fmt.Sprintf("key-%d", i))
	}
	if got := again.Stats(); got != st {
		t.Errorf("replay injected %+v, first run %+v", got, st)
	}
	if first := cancel(t, srv.URL, fetchToken(t, srv.URL), "fresh-token-first-call"); first == http.StatusUnauthorized {
		t.Error("a fresh token's first call was rejected: a refreshing client could never get through")
	}
}

func fetchToken(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Post(base+TokenPath, "application/json",
		bytes.NewReader([]byte(`{"client_id":"id","client_secret":"secret","grant_type":"client_credentials"}`)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("token: %v", err)
	}
	return out.AccessToken
}

func cancel(t *testing.T, base, tok, key string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", base+CancelPath, bytes.NewReader([]byte(`{"order_id":"x"}`)))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestFaultyCRMLetsAKeyThroughAfterMaxFaults(t *testing.T) {
	c := New("id", "secret", time.Hour)
	// Every call would fail: the cap alone lets the third call of each key through.
	f := c.WithFaults(Faults{Seed: 1, ServerErrorRate: 1, MaxFaultsPerKey: 2})
	srv := httptest.NewServer(f)
	defer srv.Close()
	tok := fetchToken(t, srv.URL)
	for _, key := range []string{"a", "b"} {
		var got []int
		for range 4 {
			got = append(got, cancel(t, srv.URL, tok, key))
		}
		if got[0] != 500 || got[1] != 500 || got[2] != 200 || got[3] != 200 {
			t.Errorf("key %s answered %v, want 500 500 200 200", key, got)
		}
	}
	if st := f.Stats(); st.ServerErrors != 4 {
		t.Errorf("%d 500s injected, want 2 per key", st.ServerErrors)
	}
}

func TestFaultyCRMPassesEveryCallWhileCalm(t *testing.T) {
	c := New("id", "secret", time.Hour)
	f := c.WithFaults(Faults{Seed: 1, ServerErrorRate: 1, RejectEachTokenOnce: true})
	srv := httptest.NewServer(f)
	defer srv.Close()
	tok := fetchToken(t, srv.URL)
	f.SetCalm(true)
	for i := range 10 {
		if code := cancel(t, srv.URL, tok, fmt.Sprintf("calm-%d", i)); code != http.StatusOK {
			t.Errorf("calm call %d answered %d, want 200", i, code)
		}
	}
	if st := f.Stats(); st != (FaultStats{}) {
		t.Errorf("calm calls were counted: %+v", st)
	}
	f.SetCalm(false)
	if code := cancel(t, srv.URL, tok, "stormy"); code != http.StatusInternalServerError {
		t.Errorf("after calm, a call answered %d, want the injected 500", code)
	}
}
