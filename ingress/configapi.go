package ingress

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"orderflow/activities"
	"orderflow/store"
	"orderflow/webhook"
)

// resource describes one collection of the webhook system's configuration
// (events, auths, payloads, conditions, webhooks).
type resource[T any] struct {
	path string // e.g. "events"
	repo store.Repo[T]
	// prepare validates a create (old == nil) or an update, checks references
	// and fills derived fields. A *webhook.FieldError becomes a 400 naming the field.
	prepare func(ctx context.Context, doc, old *T) error
	// inUse says why the document with id may not be deleted; "" when it may.
	inUse func(ctx context.Context, id string) (string, error)
	// view is what the API shows: secrets removed.
	view func(T) any
}

// stamped is a pointer to a configuration document.
type stamped[T any] interface {
	*T
	Stamp(created, updated time.Time)
	Created() time.Time
}

func mountConfigAPI(mux *http.ServeMux, d Deps) {
	s := d.Store
	mountResource(mux, d, resource[store.Event]{path: "events", repo: s.Events(), prepare: prepareEvent,
		inUse: func(ctx context.Context, id string) (string, error) {
			ev, err := s.Events().Get(ctx, id)
			if err != nil {
				return "", err
			}
			webhooks, conditions, err := s.EventUsers(ctx, ev.Name)
			return referenced("event", webhooks, conditions, err)
		}})
	mountResource(mux, d, resource[store.Auth]{path: "auths", repo: s.Auths(), prepare: prepareAuth(d.Now),
		inUse: func(ctx context.Context, id string) (string, error) {
			n, err := s.AuthUsers(ctx, id)
			return referenced("auth", n, 0, err)
		},
		view: viewAuth})
	mountResource(mux, d, resource[store.Payload]{path: "payloads", repo: s.Payloads(), prepare: preparePayload,
		inUse: func(ctx context.Context, id string) (string, error) {
			n, err := s.PayloadUsers(ctx, id)
			return referenced("payload", n, 0, err)
		}})
	mountResource(mux, d, resource[store.Condition]{path: "conditions", repo: s.Conditions(), prepare: prepareCondition(s)})
	mountResource(mux, d, resource[store.Webhook]{path: "webhooks", repo: s.Webhooks(), prepare: prepareWebhook(s),
		inUse: func(ctx context.Context, id string) (string, error) {
			n, err := s.WebhookUsers(ctx, id)
			return referenced("webhook", 0, n, err)
		}})
}

// referenced says why a document still used by webhooks or conditions may not be deleted.
func referenced(what string, webhooks, conditions int64, err error) (string, error) {
	switch {
	case err != nil:
		return "", err
	case webhooks > 0:
		return what + " is used by a webhook", nil
	case conditions > 0:
		return what + " is used by a condition", nil
	}
	return "", nil
}

func mountResource[T any, PT stamped[T]](mux *http.ServeMux, d Deps, res resource[T]) {
	if res.view == nil {
		res.view = func(t T) any { return t }
	}
	base := "/v1/" + res.path
	mux.HandleFunc("POST "+base, jsonBody(func(w http.ResponseWriter, r *http.Request) {
		var doc T
		if !decodeAndPrepare(w, r, d, res, &doc, nil) {
			return
		}
		now := d.Now()
		PT(&doc).Stamp(now, now)
		id, err := res.repo.Insert(r.Context(), &doc)
		if !d.storeOK(w, err, res.path) {
			return
		}
		w.Header().Set("Location", base+"/"+id.Hex())
		d.respondWith(w, r, res, id.Hex(), http.StatusCreated)
	}))
	mux.HandleFunc("GET "+base, func(w http.ResponseWriter, r *http.Request) {
		docs, err := res.repo.Find(r.Context(), nil)
		if !d.storeOK(w, err, res.path) {
			return
		}
		out := make([]any, len(docs))
		for i, doc := range docs {
			out[i] = res.view(doc)
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": out})
	})
	mux.HandleFunc("GET "+base+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		d.respondWith(w, r, res, r.PathValue("id"), http.StatusOK)
	})
	mux.HandleFunc("PUT "+base+"/{id}", jsonBody(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		old, err := res.repo.Get(r.Context(), id)
		if !d.storeOK(w, err, res.path) {
			return
		}
		var doc T
		if !decodeAndPrepare(w, r, d, res, &doc, &old) {
			return
		}
		PT(&doc).Stamp(PT(&old).Created(), d.Now())
		if !d.storeOK(w, res.repo.Replace(r.Context(), id, &doc), res.path) {
			return
		}
		d.respondWith(w, r, res, id, http.StatusOK)
	}))
	mux.HandleFunc("DELETE "+base+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if res.inUse != nil {
			why, err := res.inUse(r.Context(), id)
			if !d.storeOK(w, err, res.path) {
				return
			}
			if why != "" {
				writeError(w, http.StatusConflict, why, "")
				return
			}
		}
		if !d.storeOK(w, res.repo.Delete(r.Context(), id), res.path) {
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func decodeAndPrepare[T any](w http.ResponseWriter, r *http.Request, d Deps, res resource[T], doc, old *T) bool {
	if err := decodeJSON(w, r, d.MaxBodyBytes, doc); err != nil {
		writeDecodeError(w, err)
		return false
	}
	err := res.prepare(r.Context(), doc, old)
	var fe *webhook.FieldError
	if errors.As(err, &fe) {
		writeError(w, http.StatusBadRequest, fe.Error(), fe.Field)
		return false
	}
	return d.storeOK(w, err, res.path)
}

func (d Deps) respondWith(w http.ResponseWriter, r *http.Request, res resourceViewer, id string, code int) {
	v, err := res.load(r.Context(), id)
	if !d.storeOK(w, err, "") {
		return
	}
	writeJSON(w, code, v)
}

// resourceViewer loads one document as the API shows it.
type resourceViewer interface {
	load(ctx context.Context, id string) (any, error)
}

func (res resource[T]) load(ctx context.Context, id string) (any, error) {
	doc, err := res.repo.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return res.view(doc), nil
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,99}$`)

func fieldError(field, msg string) error { return &webhook.FieldError{Field: field, Message: msg} }

func prepareEvent(_ context.Context, ev, _ *store.Event) error {
	switch {
	case !namePattern.MatchString(ev.Name):
		return fieldError("name", "must be lower-case letters, digits, '.', '_' or '-', e.g. order.rto")
	case ev.ModuleName == "":
		return fieldError("module_name", "is required, e.g. order")
	}
	return nil
}

func prepareAuth(now func() time.Time) func(context.Context, *store.Auth, *store.Auth) error {
	return func(_ context.Context, a, old *store.Auth) error {
		if a.Type == "" {
			a.Type = "token"
		}
		if a.Type != "token" {
			return fieldError("type", `must be "token"`)
		}
		// Secrets are write-only: an update that leaves one out keeps it, but
		// only while they go to the same place: a new auth_url must come with
		// its secrets, or anyone holding the API key could redirect them.
		if old != nil {
			kept := webhook.KeepSecrets(old.AuthPayload, a.AuthPayload)
			if a.AuthURL != old.AuthURL && len(kept) != len(a.AuthPayload) {
				return fieldError("auth_payload", "a new auth_url needs its secrets given again")
			}
			a.AuthPayload = kept
		}
		// A new version invalidates tokens cached for the old credentials.
		a.Version = now().UnixNano()
		return store.Auth.TokenAuth(*a).Validate()
	}
}

// authView is an auth as the API shows it: secret values removed, their names listed.
type authView struct {
	store.Auth
	WriteOnlySet []string `json:"write_only_fields_set"`
}

func viewAuth(a store.Auth) any {
	var removed []string
	a.AuthPayload, removed = webhook.Redact(a.AuthPayload)
	for i := range removed {
		removed[i] = "auth_payload." + removed[i]
	}
	return authView{Auth: a, WriteOnlySet: removed}
}

func preparePayload(_ context.Context, p, _ *store.Payload) error {
	if p.ModuleName == "" {
		return fieldError("module_name", "is required, e.g. order")
	}
	return p.Mapping.Validate()
}

func prepareCondition(s *store.Store) func(context.Context, *store.Condition, *store.Condition) error {
	return func(ctx context.Context, c, _ *store.Condition) error {
		if err := c.Condition.Validate(); err != nil {
			return err
		}
		if err := mustExist("event", eventExists(ctx, s, c.Event)); err != nil {
			return err
		}
		if c.WebhookID == "" {
			return nil
		}
		return mustExist("webhook_id", getErr(s.Webhooks().Get(ctx, c.WebhookID)))
	}
}

func prepareWebhook(s *store.Store) func(context.Context, *store.Webhook, *store.Webhook) error {
	return func(ctx context.Context, h, _ *store.Webhook) error {
		if h.Active == nil {
			active := true
			h.Active = &active
		}
		switch {
		case !isHTTPURL(h.URL):
			return fieldError("url", "must be an http(s) URL")
		case h.ModuleName == "":
			return fieldError("module_name", "is required, e.g. order")
		case len(h.Events) == 0:
			return fieldError("events", "must list at least one event, e.g. [\"order.rto\"]")
		case h.PayloadID == "":
			return fieldError("payload_id", "is required")
		}
		if err := validateWebhookRetry(h.Retry); err != nil {
			return err
		}
		for _, ev := range h.Events {
			if err := mustExist("events", eventExists(ctx, s, ev)); err != nil {
				return err
			}
		}
		if err := mustExist("payload_id", getErr(s.Payloads().Get(ctx, h.PayloadID))); err != nil {
			return err
		}
		if h.AuthID == "" {
			return nil
		}
		return mustExist("auth_id", getErr(s.Auths().Get(ctx, h.AuthID)))
	}
}

// mustExist turns a reference lookup's ErrNotFound into a 400 naming the field.
func mustExist(field string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fieldError(field, "refers to nothing that exists")
	}
	return err
}

// getErr keeps only the error of a Get.
func getErr[T any](_ T, err error) error { return err }

func eventExists(ctx context.Context, s *store.Store, name string) error {
	ok, err := s.EventNamed(ctx, name)
	if err == nil && !ok {
		return store.ErrNotFound
	}
	return err
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// maxRetrySeconds bounds every retry delay, interval and window: the
// delivery activities' ScheduleToClose of three days ends a delivery anyway.
const maxRetrySeconds = int(activities.CRMWebhookMaxWindow / time.Second)

// validateWebhookRetry checks a CRM webhook's retry settings: every interval
// and the window above zero, the coefficient at least 1, the maximum interval
// not below the initial one (with defaults filling what is left out), and the
// window within the delivery activity's three days, which bound it anyway.
func validateWebhookRetry(r *store.WebhookRetry) error {
	if r == nil {
		return nil
	}
	for _, f := range []struct {
		name string
		v    *int
	}{{"retry.initial_interval_seconds", r.InitialIntervalSeconds}, {"retry.maximum_interval_seconds", r.MaximumIntervalSeconds}, {"retry.window_seconds", r.WindowSeconds}} {
		if f.v != nil && *f.v <= 0 {
			return fieldError(f.name, "must be greater than 0")
		}
		if f.v != nil && *f.v > maxRetrySeconds {
			return fieldError(f.name, "must be at most 259200 (72 hours, the delivery's own time limit)")
		}
	}
	if c := r.BackoffCoefficient; c != nil && !(*c >= 1 && *c <= 100) {
		return fieldError("retry.backoff_coefficient", "must be at least 1 (and at most 100)")
	}
	s := activities.CRMWebhookSchedule(store.Webhook{Retry: r})
	switch {
	case s.Max < s.Initial:
		return fieldError("retry.maximum_interval_seconds", "must not be below the initial interval ("+s.Initial.String()+")")
	}
	return nil
}
