package codec

import (
	"crypto/sha256"
	"crypto/subtle"
	"io"
	"net/http"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"
)

// maxRequestBytes bounds a codec request: the UI sends a page of a history's
// payloads at once, each at most Temporal's 2 MB payload limit.
const maxRequestBytes = 8 << 20

// ServerOptions configure the codec server.
type ServerOptions struct {
	// Namespace is the one namespace whose payloads this codec's keys encrypt;
	// a request naming another (X-Namespace) is refused.
	Namespace string
	// Token is the bearer token callers must send; empty means none is asked
	// (allowed by configuration only on a loopback listener).
	Token string
	// AllowedOrigins are the browser origins (the Temporal UI) allowed to call.
	AllowedOrigins []string
	Logger         *zap.Logger
}

// Server answers Temporal's remote codec protocol under a prefix (e.g.
// /codec): POST <prefix>/encode and POST <prefix>/decode take and return
// {"payloads":[…]} in protobuf JSON. The Temporal UI calls it from the
// browser (so CORS, with a preflight for its X-Namespace header) and the CLI
// with --codec-endpoint and --codec-auth "Bearer <token>".
type Server struct {
	codec  *Codec
	opts   ServerOptions
	digest [sha256.Size]byte // of the token, so comparing takes the same time whatever its length
}

// NewServer serves c's encode and decode.
func NewServer(c *Codec, opts ServerOptions) *Server {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	return &Server{codec: c, opts: opts, digest: sha256.Sum256([]byte(opts.Token))}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin != "" {
		if !slices.Contains(s.opts.AllowedOrigins, origin) {
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add("Vary", "Origin")
	}
	if r.Method == http.MethodOptions { // a CORS preflight carries no credentials
		if origin == "" {
			http.Error(w, "not a CORS preflight", http.StatusBadRequest)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="orderflow codec"`)
		http.Error(w, "a valid bearer token is required", http.StatusUnauthorized)
		return
	}
	if ns := r.Header.Get("X-Namespace"); ns != "" && ns != s.opts.Namespace {
		http.Error(w, "this codec server serves namespace "+s.opts.Namespace, http.StatusForbidden)
		return
	}
	var op func([]*commonpb.Payload) ([]*commonpb.Payload, error)
	switch {
	case strings.HasSuffix(r.URL.Path, "/encode"):
		op = s.codec.Encode
	case strings.HasSuffix(r.URL.Path, "/decode"):
		op = s.codec.Decode
	default:
		http.NotFound(w, r)
		return
	}
	s.convert(w, r, op)
}

func (s *Server) convert(w http.ResponseWriter, r *http.Request, op func([]*commonpb.Payload) ([]*commonpb.Payload, error)) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		http.Error(w, "the request body is unreadable or too large", http.StatusRequestEntityTooLarge)
		return
	}
	var in commonpb.Payloads
	if err := protojson.Unmarshal(body, &in); err != nil {
		http.Error(w, `want {"payloads":[…]} in protobuf JSON`, http.StatusBadRequest)
		return
	}
	out, err := op(in.Payloads)
	if err != nil {
		// The error names a key id at most, never a key or a payload's content.
		s.opts.Logger.Warn("codec server: cannot convert payloads", zap.String("path", r.URL.Path), zap.Error(err))
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	raw, err := protojson.Marshal(&commonpb.Payloads{Payloads: out})
	if err != nil {
		http.Error(w, "cannot encode the answer", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(raw)
}

// authorized compares the bearer token in constant time. With no token
// configured every caller is authorized (a loopback development listener).
func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Token == "" {
		return true
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], s.digest[:]) == 1
}
