package delivery

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
)

// Redacted replaces a credential or signature in a shown header.
const Redacted = "[redacted]"

// secretHeaders are the headers Preview and Probe never show: credentials and signatures.
var secretHeaders = []string{"Authorization", HeaderSignature512, "webhook-signature"}

// ProbeAnswerBytes is how much of a probed receiver's answer is kept.
const ProbeAnswerBytes = 1024

// Probe is a test event's outcome: what was (or would be) sent, with secrets
// redacted, and, when sent, what came back.
type Probe struct {
	Headers    http.Header
	Sent       bool
	StatusCode int    // 0 when no answer came
	LatencyMS  int64  // of the POST
	Answer     string // the first ProbeAnswerBytes of the answer's body
	Error      string // why no 2xx, safe to show
}

// Preview builds m's headers (signatures included) without sending it or
// asking for credentials: a configured Auth shows as a redacted
// Authorization header.
func (s *Sender) Preview(ctx context.Context, m Message) (http.Header, error) {
	auth := m.Auth
	m.Auth = nil
	h, err := s.headers(ctx, m, false)
	if err != nil {
		return nil, err
	}
	if auth != nil {
		h.Set("Authorization", Redacted)
	}
	return redactHeaders(h), nil
}

// Probe POSTs m once, with credentials, and reports the answer. It keeps no
// log and feeds no counter: a test event is not a delivery.
func (s *Sender) Probe(ctx context.Context, m Message) (Probe, error) {
	h, err := s.headers(ctx, m, false)
	if err != nil {
		return Probe{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL, bytes.NewReader(m.Body))
	if err != nil {
		return Probe{}, errors.New("invalid webhook URL")
	}
	req.Header = h
	p := Probe{Headers: redactHeaders(h.Clone()), Sent: true}
	start := s.now()
	resp, err := s.http.Do(req)
	if err != nil {
		p.LatencyMS, p.Error = s.now().Sub(start).Milliseconds(), Describe(err)
		return p, nil
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, ProbeAnswerBytes))
	p.LatencyMS, p.StatusCode, p.Answer = s.now().Sub(start).Milliseconds(), resp.StatusCode, string(answer)
	if !is2xx(resp.StatusCode) {
		p.Error = "receiver answered " + http.StatusText(resp.StatusCode)
	}
	return p, nil
}

func redactHeaders(h http.Header) http.Header {
	for _, k := range secretHeaders {
		if h.Get(k) != "" {
			h.Set(k, Redacted)
		}
	}
	return h
}
