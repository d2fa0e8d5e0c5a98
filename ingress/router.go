// Package ingress is the starter's HTTP edge: the webhook system's
// configuration API (events, auths, payloads, conditions, webhooks), the order
// status-update endpoint and the delivery log, the push tracking webhooks
// (Clickpost, the fulfilment platform, Shiprocket, Delhivery) and their credentials, and revenue recovery's
// billing webhooks, recovery API and configuration. Handlers verify and
// validate, then hand work to Mongo (configuration) or Temporal (everything
// that acts); they never act themselves.
package ingress

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"orderflow/config"
	"orderflow/observability"
	"orderflow/store"
)

// Deps are the handlers' dependencies.
type Deps struct {
	Store        *store.Store
	Temporal     client.Client
	TaskQueue    string
	APIKey       string
	MaxBodyBytes int64
	Push         config.Push    // per-account push webhook credentials from the config file / environment
	Breaker      config.Breaker // the endpoint breaker's settings (the drain rate of a re-enable)
	Logger       *zap.Logger
	Metrics      *observability.Metrics
	Now          func() time.Time
}

// Router mounts every route: the control plane behind the API key, and
// /healthz, /metrics and /openapi.yaml open.
func Router(d Deps) http.Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	api := http.NewServeMux()
	mountConfigAPI(api, d)
	mountOrdersAPI(api, d)
	pushCreds := newPushCredentials(d)
	mountPushCredentialsAPI(api, d, pushCreds)
	mountPushAPI(api, d)
	mountRedriveAPI(api, d)
	mountEndpointsAPI(api, d)

	root := http.NewServeMux()
	root.Handle("/v1/", d.requireAPIKey(api))
	mountRecovery(root, api, d)
	root.HandleFunc("GET /openapi.yaml", serveOpenAPI)
	mountPushWebhooks(root, d, pushCreds)
	admin := observability.AdminMux(d.Metrics, map[string]observability.HealthCheck{"mongo": d.Store.Ping})
	root.Handle("GET /healthz", admin)
	root.Handle("GET /metrics", admin)
	return d.observe(root)
}

// requireAPIKey accepts X-API-Key or "Authorization: Bearer", compared in constant time.
func (d Deps) requireAPIKey(next http.Handler) http.Handler {
	want := []byte(d.APIKey)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("X-API-Key")
		if got == "" {
			got, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			writeError(w, http.StatusUnauthorized, "missing or wrong API key", "")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// observe logs and counts every request by route pattern. Bodies, query
// strings and headers are never logged: they may carry secrets.
func (d Deps) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := d.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		d.Metrics.IngressRequests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
		d.Logger.Info("http request", zap.String("method", r.Method), zap.String("path", r.URL.Path),
			zap.Int("code", rec.code), zap.Duration("duration", d.Now().Sub(start)))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

// apiError is every error body: a message and, for validation, the field at fault.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeError(w http.ResponseWriter, code int, msg, field string) {
	writeJSON(w, code, apiError{Error: msg, Field: field})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// errBodyTooLarge and errBadJSON are decodeJSON's failures, mapped to 413 and 400.
var errBodyTooLarge = errors.New("body too large")

type badJSONError struct{ msg, field string }

func (e *badJSONError) Error() string { return e.msg }

// decodeJSON reads one JSON object of at most max bytes into v, refusing unknown fields.
func decodeJSON(w http.ResponseWriter, r *http.Request, max int64, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errBodyTooLarge
	}
	if err != nil {
		return &badJSONError{msg: "could not read body"}
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err)
	}
	if dec.More() {
		return &badJSONError{msg: "body must be a single JSON object"}
	}
	return nil
}

func describeJSONError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return &badJSONError{msg: fmt.Sprintf("%s must be %s", typeErr.Field, typeErr.Type), field: typeErr.Field}
	case errors.As(err, &syntaxErr):
		return &badJSONError{msg: fmt.Sprintf("malformed JSON at byte %d", syntaxErr.Offset)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &badJSONError{msg: "unknown field " + field, field: field}
	case errors.Is(err, io.EOF):
		return &badJSONError{msg: "body must be a JSON object"}
	}
	return &badJSONError{msg: "malformed JSON"}
}

// writeDecodeError answers a decodeJSON failure.
func writeDecodeError(w http.ResponseWriter, err error) {
	var bad *badJSONError
	switch {
	case errors.Is(err, errBodyTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "body exceeds the size limit", "")
	case errors.As(err, &bad):
		writeError(w, http.StatusBadRequest, bad.msg, bad.field)
	default:
		writeError(w, http.StatusBadRequest, "malformed request", "")
	}
}
