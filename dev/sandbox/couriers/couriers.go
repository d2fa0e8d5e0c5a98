// Package couriers is the sandbox of the courier APIs the tracking sweep
// polls: Delhivery B2C (packages/json, Token auth), Delhivery B2B (ums/login
// JWT, lrn/track) and Shiprocket (auth/login token, bulk track/awbs), in their
// real formats, with their real auth and their limits: a sliding window per
// API, answered past the limit with 403 (Delhivery's WAF) or 429 + Retry-After
// (Shiprocket). The window is configurable so tests can scale it down.
// Development only.
package couriers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"orderflow/tracking"
	ocouriers "orderflow/tracking/couriers"
	"orderflow/tracking/couriers/delhivery"
	"orderflow/tracking/couriers/delhiveryb2b"
	"orderflow/tracking/couriers/shiprocket"
)

// Options configure the sandbox: credentials it accepts and limits it enforces.
type Options struct {
	DelhiveryToken     string
	B2BUsername        string
	B2BPassword        string
	ShiprocketEmail    string
	ShiprocketPassword string
	// Requests allowed per Window on each API's tracking endpoint.
	DelhiveryLimit  int
	B2BLimit        int
	ShiprocketLimit int
	Window          time.Duration
	Now             func() time.Time
	// Latency delays every tracking answer, as a real courier's round trip would.
	Latency time.Duration
	// RecordCalls keeps every admitted tracking call's time (CallTimes), for
	// measuring how much of the limit a sweep used; off by default so a
	// long-running sandbox does not grow.
	RecordCalls bool
}

// DefaultOptions are the real limits and the credentials of config/dev.yaml.
func DefaultOptions() Options {
	return Options{
		DelhiveryToken: "sandbox-delhivery-token", B2BUsername: "sandbox-b2b-user", B2BPassword: "sandbox-b2b-password",
		ShiprocketEmail: "sandbox@orderflow.dev", ShiprocketPassword: "sandbox-shiprocket-password",
		DelhiveryLimit: 750, B2BLimit: 500, ShiprocketLimit: 600, Window: 5 * time.Minute,
	}
}

// DelhiveryStatus is a B2C shipment's state.
type DelhiveryStatus struct {
	Status, StatusType, StatusCode string
	RTOStarted                     bool
}

// ShiprocketStatus is a Shiprocket shipment's state.
type ShiprocketStatus struct {
	Code     int
	Label    string
	IsReturn bool
}

type stamped[T any] struct {
	v    T
	at   time.Time
	seen bool // served to a poll since it was set
}

// Stats are one API's tracking calls: answered and refused for the limit.
type Stats struct {
	Calls    int `json:"calls"`
	Rejected int `json:"rejected"`
	Logins   int `json:"logins"`
}

// Sandbox is the courier APIs' state.
type Sandbox struct {
	o   Options
	now func() time.Time
	key []byte // signs B2B JWTs

	mu         sync.Mutex
	delhivery  map[string]stamped[DelhiveryStatus]
	b2b        map[string]stamped[string]
	shiprocket map[string]stamped[ShiprocketStatus]
	windows    map[string][]time.Time
	callLog    map[string][]time.Time
	stats      map[string]*Stats
	srTokens   map[string]bool
	issued     []string
}

// New makes an empty sandbox.
func New(o Options) *Sandbox {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s := &Sandbox{o: o, now: now, key: key,
		delhivery: map[string]stamped[DelhiveryStatus]{}, b2b: map[string]stamped[string]{},
		shiprocket: map[string]stamped[ShiprocketStatus]{}, windows: map[string][]time.Time{}, callLog: map[string][]time.Time{},
		stats: map[string]*Stats{}, srTokens: map[string]bool{}}
	for _, api := range tracking.APIs {
		s.stats[api] = &Stats{}
	}
	return s
}

// SetDelhivery puts a B2C waybill in a state, as of now.
func (s *Sandbox) SetDelhivery(awb string, st DelhiveryStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delhivery[awb] = stamped[DelhiveryStatus]{v: st, at: s.now()}
}

// SetB2B puts an LR in a status, as of now.
func (s *Sandbox) SetB2B(lr, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b2b[lr] = stamped[string]{v: status, at: s.now()}
}

// SetShiprocket puts an AWB in a state, as of now.
func (s *Sandbox) SetShiprocket(awb string, st ShiprocketStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shiprocket[awb] = stamped[ShiprocketStatus]{v: st, at: s.now()}
}

// Stats returns one API's counters.
func (s *Sandbox) Stats(api string) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.stats[api]
}

// Seen reports whether a shipment's current state has been served to a poll.
func (s *Sandbox) Seen(awb string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delhivery[awb].seen || s.b2b[awb].seen || s.shiprocket[awb].seen
}

// IssuedTokens lists every token and JWT handed out, for secret-leak checks.
func (s *Sandbox) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// Handler serves the three APIs on their real paths, and GET /couriers/stats.
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+delhivery.TrackPath, s.delhiveryTrack)
	mux.HandleFunc("POST "+delhiveryb2b.LoginPath, s.b2bLogin)
	mux.HandleFunc("GET "+delhiveryb2b.TrackPath, s.b2bTrack)
	mux.HandleFunc("POST "+shiprocket.LoginPath, s.shiprocketLogin)
	mux.HandleFunc("POST "+shiprocket.TrackPath, s.shiprocketTrack)
	mux.HandleFunc("GET /couriers/stats", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		writeJSON(w, 200, s.stats)
	})
	return mux
}

// admit applies an API's sliding window: it records the call and returns 0,
// or refuses it and returns how long until the window has room.
func (s *Sandbox) admit(api string, limit int) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	log := s.windows[api]
	for len(log) > 0 && now.Sub(log[0]) >= s.o.Window {
		log = log[1:]
	}
	if len(log) >= limit {
		s.windows[api] = log
		s.stats[api].Rejected++
		return s.o.Window - now.Sub(log[0])
	}
	s.windows[api] = append(log, now)
	s.stats[api].Calls++
	if s.o.RecordCalls {
		s.callLog[api] = append(s.callLog[api], now)
	}
	return 0
}

func (s *Sandbox) delhiveryTrack(w http.ResponseWriter, r *http.Request) {
	s.delay(r)
	if !hmac.Equal([]byte(r.Header.Get("Authorization")), []byte("Token "+s.o.DelhiveryToken)) {
		writeJSON(w, 401, map[string]any{"detail": "Authentication credentials were not provided."})
		return
	}
	if s.admit(tracking.APIDelhivery, s.o.DelhiveryLimit) > 0 {
		http.Error(w, "<html><body><h1>403 Forbidden</h1>Request blocked.</body></html>", http.StatusForbidden)
		return
	}
	var data []map[string]any
	s.mu.Lock()
	for _, awb := range strings.Split(r.URL.Query().Get("waybill"), ",") {
		st, ok := s.delhivery[awb]
		if !ok {
			continue
		}
		st.seen = true
		s.delhivery[awb] = st
		var rtoStarted any
		if st.v.RTOStarted {
			rtoStarted = istString(st.at)
		}
		data = append(data, map[string]any{"Shipment": map[string]any{
			"AWB": awb, "ReferenceNo": "REF-" + awb, "OrderType": "Pre-paid", "PickUpDate": istString(st.at.Add(-48 * time.Hour)),
			"RTOStartedDate": rtoStarted, "ReturnedDate": nil, "ReverseInTransit": false,
			"Status": map[string]any{"Status": st.v.Status, "StatusType": st.v.StatusType, "StatusCode": st.v.StatusCode,
				"Instructions": st.v.Status, "StatusDateTime": istString(st.at), "StatusLocation": "Sandbox_Hub (Delhi)"},
		}})
	}
	s.mu.Unlock()
	if len(data) == 0 {
		writeJSON(w, 200, map[string]any{"Success": false, "Error": "Data does not exists for provided Waybill(s)"})
		return
	}
	writeJSON(w, 200, map[string]any{"ShipmentData": data})
}

func (s *Sandbox) b2bLogin(w http.ResponseWriter, r *http.Request) {
	var in struct{ Username, Password string }
	_ = json.NewDecoder(r.Body).Decode(&in)
	if !equal(in.Username, s.o.B2BUsername) || !equal(in.Password, s.o.B2BPassword) {
		writeJSON(w, 401, map[string]any{"success": false, "error": "invalid credentials"})
		return
	}
	exp := s.now().Add(24 * time.Hour).Unix()
	jwt := s.signJWT(map[string]any{"sub": in.Username, "exp": exp})
	s.mu.Lock()
	s.stats[tracking.APIDelhiveryB2B].Logins++
	s.issued = append(s.issued, jwt)
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"success": true, "data": map[string]any{"jwt": jwt}})
}

func (s *Sandbox) b2bTrack(w http.ResponseWriter, r *http.Request) {
	s.delay(r)
	if !s.validJWT(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")) {
		writeJSON(w, 401, map[string]any{"success": false, "error": "token expired or invalid"})
		return
	}
	if s.admit(tracking.APIDelhiveryB2B, s.o.B2BLimit) > 0 {
		http.Error(w, "<html><body><h1>403 Forbidden</h1></body></html>", http.StatusForbidden)
		return
	}
	lr := r.URL.Query().Get("lrnum")
	s.mu.Lock()
	st, ok := s.b2b[lr]
	if ok {
		st.seen = true
		s.b2b[lr] = st
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, 200, map[string]any{"success": false, "error": "LR not found", "data": nil})
		return
	}
	writeJSON(w, 200, map[string]any{"success": true, "data": map[string]any{"lrnum": lr, "status": st.v,
		"wbns": []map[string]any{{"status": st.v, "location": "Sandbox_Hub", "wbn": lr + "01", "scan_timestamp": istString(st.at)}}}})
}

func (s *Sandbox) shiprocketLogin(w http.ResponseWriter, r *http.Request) {
	var in struct{ Email, Password string }
	_ = json.NewDecoder(r.Body).Decode(&in)
	if !equal(in.Email, s.o.ShiprocketEmail) || !equal(in.Password, s.o.ShiprocketPassword) {
		writeJSON(w, 400, map[string]any{"message": "Invalid email and password combination", "status_code": 400})
		return
	}
	tok := randomHex(24)
	s.mu.Lock()
	s.srTokens[tok] = true
	s.stats[tracking.APIShiprocket].Logins++
	s.issued = append(s.issued, tok)
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"id": 1, "email": in.Email, "company_id": 1, "token": tok})
}

func (s *Sandbox) shiprocketTrack(w http.ResponseWriter, r *http.Request) {
	s.delay(r)
	s.mu.Lock()
	ok := s.srTokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	s.mu.Unlock()
	if !ok {
		writeJSON(w, 401, map[string]any{"message": "Unauthenticated.", "status_code": 401})
		return
	}
	if wait := s.admit(tracking.APIShiprocket, s.o.ShiprocketLimit); wait > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(wait.Seconds()))))
		writeJSON(w, 429, map[string]any{"message": "Too Many Attempts.", "status_code": 429})
		return
	}
	var in struct {
		AWBs []string `json:"awbs"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.AWBs) == 0 || len(in.AWBs) > shiprocket.MaxAWBs {
		writeJSON(w, 422, map[string]any{"message": "The awbs field is required (at most 50).", "status_code": 422})
		return
	}
	out := map[string]any{}
	s.mu.Lock()
	for _, awb := range in.AWBs {
		st, ok := s.shiprocket[awb]
		if !ok {
			out[awb] = map[string]any{}
			continue
		}
		st.seen = true
		s.shiprocket[awb] = st
		ts := st.at.In(ocouriers.IST).Format("2006-01-02 15:04:05")
		td := map[string]any{"track_status": 1, "shipment_status": st.v.Code,
			"shipment_track": []map[string]any{{"awb_code": awb, "current_status": st.v.Label, "current_timestamp": ts}},
			"shipment_track_activities": []map[string]any{{"date": ts, "status": st.v.Label, "activity": st.v.Label,
				"location": "Sandbox_Hub", "sr-status": fmt.Sprint(st.v.Code), "sr-status-label": strings.ToUpper(st.v.Label)}},
			"track_url": "https://shiprocket.co/tracking/" + awb, "etd": nil}
		if st.v.IsReturn {
			td["is_return"] = "1" // real payloads send it as a string too
		}
		out[awb] = map[string]any{"tracking_data": td}
	}
	s.mu.Unlock()
	writeJSON(w, 200, out)
}

func (s *Sandbox) signJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	body, _ := json.Marshal(claims)
	unsigned := head + "." + enc.EncodeToString(body)
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc.EncodeToString(mac.Sum(nil))
}

func (s *Sandbox) validJWT(jwt string) bool {
	i := strings.LastIndexByte(jwt, '.')
	if i < 0 {
		return false
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(jwt[:i]))
	sig, err := base64.RawURLEncoding.DecodeString(jwt[i+1:])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return false
	}
	parts := strings.Split(jwt, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct{ Exp int64 }
	return json.Unmarshal(raw, &c) == nil && s.now().Unix() < c.Exp
}

func istString(t time.Time) string { return t.In(ocouriers.IST).Format("2006-01-02T15:04:05.000") }

func equal(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
