package delivery

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

type staticAuth string

func (a staticAuth) Authorize(_ context.Context, h http.Header, _ bool) error {
	h.Set("Authorization", "Bearer "+string(a))
	return nil
}

func TestPreviewRedactsCredentialsAndSignaturesWithoutSending(t *testing.T) {
	rcv := &receiver{}
	s, url := serve(t, rcv)
	h, err := s.Preview(context.Background(), Message{URL: url, ID: "evt_1", Body: []byte(`{}`), IdempotencyKey: "test:1",
		Auth: staticAuth("tok-SECRET"), Signers: []Signer{HMACSHA512{Key: "k"}, StandardWebhooks{Secret: "k"}}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("a preview sent %d POSTs", n)
	}
	for _, k := range []string{"Authorization", HeaderSignature512, "webhook-signature"} {
		if h.Get(k) != Redacted {
			t.Errorf("%s = %q, want it redacted", k, h.Get(k))
		}
	}
	if h.Get("Idempotency-Key") != "test:1" || h.Get("webhook-id") != "evt_1" {
		t.Errorf("headers %v", h)
	}
}

func TestProbeSendsOnceAndKeepsTheFirstKiBOfTheAnswer(t *testing.T) {
	var gotAuth string
	s, url := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte(strings.Repeat("x", 3000)))
	}))
	p, err := s.Probe(context.Background(), Message{URL: url, Body: []byte(`{}`), Auth: staticAuth("tok-SECRET")})
	if err != nil {
		t.Fatal(err)
	}
	if gotAuth != "Bearer tok-SECRET" {
		t.Errorf("the receiver got Authorization %q", gotAuth)
	}
	if !p.Sent || p.StatusCode != http.StatusTeapot || len(p.Answer) != ProbeAnswerBytes || p.Error == "" {
		t.Errorf("probe %+v", p)
	}
	if p.Headers.Get("Authorization") != Redacted {
		t.Errorf("probe shows Authorization %q", p.Headers.Get("Authorization"))
	}
}
