package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.temporal.io/sdk/temporal"
)

// receiver answers POSTs with the scripted codes in turn (then 200) and keeps what it got.
type receiver struct {
	mu     sync.Mutex
	codes  []int
	got    []*http.Request
	bodies []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	i := len(r.got)
	r.got, r.bodies = append(r.got, req), append(r.bodies, string(body))
	code := http.StatusOK
	if i < len(r.codes) {
		code = r.codes[i]
	}
	r.mu.Unlock()
	switch code {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "7")
	case http.StatusFound:
		w.Header().Set("Location", "/elsewhere")
	}
	w.WriteHeader(code)
}

func (r *receiver) requests() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.got...)
}

func serve(t *testing.T, h http.Handler) (*Sender, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return NewSender(Options{HTTPClient: srv.Client(), Timeout: 2 * time.Second}), srv.URL
}

// memLog keeps recorded attempts; err makes every Record fail.
type memLog struct {
	attempts []Attempt
	err      error
}

func (l *memLog) Record(_ context.Context, attempts []Attempt) error {
	l.attempts = append(l.attempts, attempts...)
	return l.err
}

// The CRM's shape and the merchant's shape of a channel, as activities build them.
func backoffChannel() Channel {
	return Channel{Name: "CRM webhook", Retry: Backoff(time.Second, 2, 10*time.Minute), HonourRetryAfter: true,
		Errors: ErrorTypes{Retryable: "Retryable", Rejected: "Rejected"}}
}

func delaysChannel() Channel {
	return Channel{Name: "merchant webhook", Retry: Delays(time.Minute, 5*time.Minute), RetryEveryFailure: true,
		Errors: ErrorTypes{Retryable: "Retryable", GaveUp: "GaveUp"}}
}

func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("want an application error, got %v", err)
	}
	return ae
}

func TestBackoffChannelJudgesAnswers(t *testing.T) {
	cases := []struct {
		code      int
		attempt   int
		wantType  string
		final     bool
		wantDelay time.Duration
	}{
		{500, 1, "Retryable", false, time.Second},
		{503, 3, "Retryable", false, 4 * time.Second},
		{408, 12, "Retryable", false, 10 * time.Minute},
		{401, 1, "Retryable", false, time.Second},
		{429, 1, "Retryable", false, 7 * time.Second}, // its Retry-After, not the schedule's second
		{400, 1, "Rejected", true, 0},
		{404, 2, "Rejected", true, 0},
		{422, 1, "Rejected", true, 0},
		{302, 1, "Rejected", true, 0}, // never followed
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			rcv := &receiver{codes: []int{tc.code}}
			s, base := serve(t, rcv)
			_, err := s.Deliver(context.Background(), backoffChannel(), Message{URL: base + "/cancel", Body: []byte(`{}`), Attempt: tc.attempt})
			ae := appError(t, err)
			if ae.Type() != tc.wantType || ae.NonRetryable() != tc.final || ae.NextRetryDelay() != tc.wantDelay {
				t.Errorf("type %s non-retryable %v delay %v; want %s %v %v", ae.Type(), ae.NonRetryable(), ae.NextRetryDelay(), tc.wantType, tc.final, tc.wantDelay)
			}
			var code int
			if err := ae.Details(&code); err != nil || code != tc.code {
				t.Errorf("details: %d, %v", code, err)
			}
			if n := len(rcv.requests()); n != 1 {
				t.Errorf("%d POSTs, want 1", n)
			}
		})
	}
}

func TestDelaysChannelRetriesEveryFailureThenGivesUp(t *testing.T) {
	for _, tc := range []struct {
		code, attempt int
		wantType      string
		final         bool
		wantDelay     time.Duration
	}{
		{500, 1, "Retryable", false, time.Minute},
		{422, 2, "Retryable", false, 5 * time.Minute}, // Hyperswitch retries a 4xx too
		{429, 1, "Retryable", false, time.Minute},     // and keeps its own delay, whatever Retry-After says
		{503, 3, "GaveUp", true, 0},
	} {
		rcv := &receiver{codes: []int{tc.code}}
		s, base := serve(t, rcv)
		_, err := s.Deliver(context.Background(), delaysChannel(), Message{URL: base, Body: []byte(`{}`), Attempt: tc.attempt})
		ae := appError(t, err)
		if ae.Type() != tc.wantType || ae.NonRetryable() != tc.final || ae.NextRetryDelay() != tc.wantDelay {
			t.Errorf("%d at attempt %d: type %s non-retryable %v delay %v", tc.code, tc.attempt, ae.Type(), ae.NonRetryable(), ae.NextRetryDelay())
		}
		if tc.wantType == "GaveUp" && !strings.Contains(ae.Error(), "merchant webhook not accepted after 3 attempts: receiver answered 503") {
			t.Errorf("give-up message %q", ae.Error())
		}
	}
}

func TestDeliverSendsBodyHeadersAndSignatures(t *testing.T) {
	rcv := &receiver{}
	s, base := serve(t, rcv)
	body := []byte(`{"event_id":"evt_1"}`)
	res, err := s.Deliver(context.Background(), delaysChannel(), Message{
		URL: base, ID: "evt_1", Body: body, IdempotencyKey: "idem-1", Attempt: 1,
		Signers: []Signer{HMACSHA512{Key: "k"}, StandardWebhooks{Secret: "k"}},
	})
	if err != nil || res.StatusCode != 200 || len(res.Attempts) != 1 {
		t.Fatalf("res %+v err %v", res, err)
	}
	got := rcv.requests()[0]
	if rcv.bodies[0] != string(body) || got.Header.Get("Content-Type") != "application/json" || got.Header.Get("Idempotency-Key") != "idem-1" {
		t.Errorf("body %q headers %v", rcv.bodies[0], got.Header)
	}
	if !VerifySHA512Hex("k", body, got.Header.Get(HeaderSignature512)) || got.Header.Get("webhook-id") != "evt_1" || got.Header.Get("webhook-signature") == "" {
		t.Errorf("signature headers %v", got.Header)
	}
}

// fakeAuth hands out numbered tokens; refreshes counts fresh requests.
type fakeAuth struct {
	issued, refreshes int
	fail              error
}

func (a *fakeAuth) Authorize(_ context.Context, h http.Header, fresh bool) error {
	if a.fail != nil {
		return a.fail
	}
	if fresh || a.issued == 0 {
		a.issued++
	}
	if fresh {
		a.refreshes++
	}
	h.Set("Authorization", fmt.Sprintf("Bearer tok-%d", a.issued))
	return nil
}

func TestDeliverRefreshesAuthOnceOn401AndLogsBothPOSTs(t *testing.T) {
	rcv := &receiver{codes: []int{401, 200}}
	s, base := serve(t, rcv)
	auth, log := &fakeAuth{}, &memLog{}
	res, err := s.Deliver(context.Background(), backoffChannel(), Message{URL: base, Body: []byte(`{}`), Auth: auth, Log: log, Attempt: 4})
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("res %+v err %v", res, err)
	}
	reqs := rcv.requests()
	if len(reqs) != 2 || reqs[1].Header.Get("Authorization") != "Bearer tok-2" || auth.refreshes != 1 {
		t.Errorf("%d POSTs, second with %q, %d refreshes", len(reqs), reqs[len(reqs)-1].Header.Get("Authorization"), auth.refreshes)
	}
	if len(log.attempts) != 2 || log.attempts[0].StatusCode != 401 || log.attempts[0].OK() || log.attempts[0].AuthRefreshed ||
		log.attempts[1].StatusCode != 200 || !log.attempts[1].OK() || !log.attempts[1].AuthRefreshed ||
		log.attempts[0].Try != 4 || log.attempts[1].Try != 4 || log.attempts[0].Error != "receiver answered 401" || log.attempts[1].At.IsZero() {
		t.Errorf("logged %+v", log.attempts)
	}

	// A second 401 after the refresh is not refreshed again within one delivery.
	rcv2 := &receiver{codes: []int{401, 401}}
	s2, base2 := serve(t, rcv2)
	auth2 := &fakeAuth{}
	_, err = s2.Deliver(context.Background(), backoffChannel(), Message{URL: base2, Body: []byte(`{}`), Auth: auth2, Attempt: 1})
	if ae := appError(t, err); ae.NonRetryable() || len(rcv2.requests()) != 2 || auth2.refreshes != 1 {
		t.Errorf("double 401: %v, %d POSTs, %d refreshes", err, len(rcv2.requests()), auth2.refreshes)
	}
}

func TestDeliverFailureBeforeAPOSTIsRetriedAndNotLogged(t *testing.T) {
	rcv := &receiver{}
	s, base := serve(t, rcv)
	log := &memLog{}
	_, err := s.Deliver(context.Background(), backoffChannel(), Message{URL: base, Body: []byte(`{}`), Log: log, Attempt: 2,
		Auth: &fakeAuth{fail: errors.New("auth endpoint answered 503")}})
	ae := appError(t, err)
	if ae.NonRetryable() || ae.Type() != "Retryable" || ae.NextRetryDelay() != 2*time.Second || !strings.Contains(ae.Error(), "auth endpoint answered 503") {
		t.Errorf("auth failure became %v (delay %v)", err, ae.NextRetryDelay())
	}
	if len(rcv.requests()) != 0 || len(log.attempts) != 0 {
		t.Errorf("%d POSTs, %d logged; want none", len(rcv.requests()), len(log.attempts))
	}
}

func TestDeliverLogFailureDoesNotFailTheDelivery(t *testing.T) {
	s, base := serve(t, &receiver{})
	log := &memLog{err: errors.New("mongo is down")}
	res, err := s.Deliver(context.Background(), backoffChannel(), Message{URL: base, Body: []byte(`{}`), Log: log, Attempt: 1})
	if err != nil || res.StatusCode != 200 || len(log.attempts) != 1 {
		t.Errorf("res %+v err %v logged %d", res, err, len(log.attempts))
	}
}

func TestDeliverCountsOneOutcomePerDeliveryAndEveryLatency(t *testing.T) {
	outcomes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outcomes"}, []string{"event", "outcome"})
	latency := &countingObserver{}
	ch := backoffChannel()
	ch.Metrics = Metrics{Outcomes: outcomes, Latency: latency}
	s, base := serve(t, &receiver{codes: []int{401, 200, 503, 422}})
	for i := 0; i < 3; i++ {
		_, _ = s.Deliver(context.Background(), ch, Message{URL: base, Event: "order.rto", Body: []byte(`{}`), Auth: &fakeAuth{}, Attempt: 1})
	}
	for outcome, want := range map[string]float64{Delivered: 1, Retryable: 1, Rejected: 1, GivenUp: 0} {
		if got := testutil.ToFloat64(outcomes.WithLabelValues("order.rto", outcome)); got != want {
			t.Errorf("%s = %v, want %v", outcome, got, want)
		}
	}
	if latency.n != 4 {
		t.Errorf("latency observed %d POSTs, want 4 (401 and its refresh, 503, 422)", latency.n)
	}
}

// countingObserver counts observations.
type countingObserver struct{ n int }

func (c *countingObserver) Observe(float64) { c.n++ }

func TestDeliverTimeoutIsRetryableAndHidesTheURL(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	s := NewSender(Options{HTTPClient: srv.Client(), Timeout: 100 * time.Millisecond})
	log := &memLog{}
	_, err := s.Deliver(context.Background(), delaysChannel(), Message{URL: srv.URL + "/hook?key=super-secret-key", Body: []byte(`{}`), Log: log, Attempt: 1})
	if ae := appError(t, err); ae.NonRetryable() || ae.NextRetryDelay() != time.Minute {
		t.Errorf("timeout became %v", err)
	}
	if len(log.attempts) != 1 || log.attempts[0].Error != "timeout" || log.attempts[0].StatusCode != 0 {
		t.Errorf("logged %+v", log.attempts)
	}
	if strings.Contains(err.Error(), "super-secret-key") {
		t.Errorf("error carries the URL's secret: %v", err)
	}
}

// No secret, token or signature reaches an attempt record or an error,
// whatever fails: the receiver, the transport or the credentials.
func TestSecretsNeverReachAttemptsOrErrors(t *testing.T) {
	const key, token, query = "merchant-hash-key-SECRET", "bearer-token-SECRET", "query-SECRET"
	tokenAuth := authFunc(func(_ context.Context, h http.Header, _ bool) error {
		h.Set("Authorization", "Bearer "+token)
		return nil
	})
	failingAuth := authFunc(func(context.Context, http.Header, bool) error { return errors.New("auth endpoint answered 500") })
	rcv := &receiver{codes: []int{401, 401, 500, 422}}
	s, base := serve(t, rcv)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	for _, m := range []Message{
		{URL: base + "?k=" + query, Auth: tokenAuth},
		{URL: base + "?k=" + query, Signers: []Signer{HMACSHA512{Key: key}, StandardWebhooks{Secret: key}}},
		{URL: base + "?k=" + query, Signers: []Signer{HMACSHA512{Key: key}}},
		{URL: deadURL + "?k=" + query, Auth: tokenAuth, Signers: []Signer{StandardWebhooks{Secret: key}}},
		{URL: base + "?k=" + query, Auth: failingAuth},
		{URL: base, Signers: []Signer{StandardWebhooks{Secret: "whsec_%%" + key}}},
	} {
		log := &memLog{}
		m.Body, m.ID, m.Attempt, m.Log = []byte(`{}`), "evt_1", 1, log
		_, err := s.Deliver(context.Background(), backoffChannel(), m)
		if err == nil {
			t.Fatalf("%s: want a failure", m.URL)
		}
		seen := fmt.Sprintf("%v %+v %#v", err, log.attempts, log.attempts)
		sig := SignSHA512Hex(key, m.Body)
		for _, secret := range []string{key, token, query, sig} {
			if strings.Contains(seen, secret) {
				t.Errorf("%q leaked into %s", secret, seen)
			}
		}
	}
}

type authFunc func(ctx context.Context, h http.Header, fresh bool) error

func (f authFunc) Authorize(ctx context.Context, h http.Header, fresh bool) error {
	return f(ctx, h, fresh)
}

func TestDeliverGivesUpWhenTheNextTryWouldStartPastTheWindow(t *testing.T) {
	ch := backoffChannel()
	ch.Retry = ch.Retry.WithWindow(time.Minute)
	ch.Errors.GaveUp = "GaveUp"
	s, base := serve(t, &receiver{codes: []int{503, 503}})
	msg := Message{URL: base, Body: []byte(`{}`), Attempt: 1, FirstScheduled: time.Now().Add(-10 * time.Second)}
	if ae := appError(t, deliverErr(s, ch, msg)); ae.Type() != "Retryable" || ae.NextRetryDelay() != time.Second {
		t.Errorf("inside the window: %s after %v, want Retryable after 1s", ae.Type(), ae.NextRetryDelay())
	}
	msg.FirstScheduled = time.Now().Add(-time.Minute)
	if ae := appError(t, deliverErr(s, ch, msg)); ae.Type() != "GaveUp" || !ae.NonRetryable() {
		t.Errorf("past the window: %s (non-retryable %v), want a non-retryable GaveUp", ae.Type(), ae.NonRetryable())
	}
}

func deliverErr(s *Sender, ch Channel, m Message) error {
	_, err := s.Deliver(context.Background(), ch, m)
	return err
}

func TestPerDestinationMetricsCarryTheIDNeverTheURL(t *testing.T) {
	reg := prometheus.NewRegistry()
	outcomes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dest_outcomes"}, []string{"kind", "destination_id", "outcome"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dest_seconds"}, []string{"kind", "destination_id"})
	reg.MustRegister(outcomes, latency)
	ch := backoffChannel()
	ch.Kind = "crm_webhook"
	ch.Metrics = Metrics{Destinations: outcomes, DestinationLatency: latency}
	s, base := serve(t, &receiver{codes: []int{200, 503}})
	url := base + "/hook?token=s3cr3t-token"
	for range 2 {
		_, _ = s.Deliver(context.Background(), ch, Message{URL: url, Event: "order.rto", Body: []byte(`{}`), Attempt: 1, DestinationID: "wh-42"})
	}
	if got := testutil.ToFloat64(outcomes.WithLabelValues("crm_webhook", "wh-42", Delivered)); got != 1 {
		t.Errorf("delivered for wh-42 = %v, want 1", got)
	}
	if got := testutil.ToFloat64(outcomes.WithLabelValues("crm_webhook", "wh-42", Retryable)); got != 1 {
		t.Errorf("retryable for wh-42 = %v, want 1", got)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := 0
	for _, f := range families {
		for _, m := range f.GetMetric() {
			series++
			for _, l := range m.GetLabel() {
				if v := l.GetValue(); strings.Contains(v, "s3cr3t") || strings.Contains(v, "127.0.0.1") || strings.Contains(v, "http") {
					t.Errorf("%s label %s = %q carries the URL", f.GetName(), l.GetName(), v)
				}
			}
		}
	}
	if series != 3 {
		t.Errorf("%d series, want 3 (two outcomes and one latency histogram)", series)
	}
}
