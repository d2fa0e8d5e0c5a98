package ingress

import (
	"errors"
	"io"
	"net/http"

	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"orderflow/store"
	"orderflow/tracking/push"
	"orderflow/workflows"
)

// mountPushWebhooks serves every push tracking webhook of the registry
// (pushSources). They are outside /v1 and its API key: each sender
// authenticates with its own per-account key, token or signature.
// /webhooks/<source>/{account} names the account; where a source has a plain
// /webhooks/<source> route, the key or signature identifies the account.
func mountPushWebhooks(mux *http.ServeMux, d Deps, creds *pushCredentials) {
	for _, src := range pushSources {
		h := d.pushWebhook(src, creds)
		mux.HandleFunc("POST /webhooks/"+src.name+"/{account}", h)
		if src.plainRoute {
			mux.HandleFunc("POST /webhooks/"+src.name, h)
		}
		for _, alias := range src.aliases {
			mux.HandleFunc("POST "+alias, h)
		}
	}
}

// pushWebhook is every source's hand-off, in this order: size (413), the
// source's key, token or signature against the account's secrets (401, an
// unknown account included), the body (400), then Temporal (503 when
// unreachable) before the 200 the sender waits for. The PushIngest's ID
// derives from the event, so a redelivery is answered 200 as a duplicate.
func (d Deps) pushWebhook(src pushSource, creds *pushCredentials) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := d.readPushBody(w, r)
		if !ok {
			return
		}
		account, ok := d.authenticatePush(w, r, creds, src.name, src.verifier(r, body))
		if !ok {
			return
		}
		ev, err := src.event(r, body, account, d.Now().UTC())
		if err != nil {
			field := ""
			var bad *push.InputError
			if errors.As(err, &bad) {
				field = bad.Field
			}
			writeError(w, http.StatusBadRequest, err.Error(), field)
			return
		}
		d.startIngest(w, r, ev)
	}
}

// readPushBody reads the raw body, at most MaxBodyBytes (413 beyond), once
// its Content-Type says JSON (415 otherwise, before any key or signature check).
func (d Deps) readPushBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if !acceptsJSON(w, r) {
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, d.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "body exceeds the size limit", "")
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "could not read body", "")
		return nil, false
	}
	return body, true
}

// authenticatePush answers 401 unless verify accepts one account's secrets,
// and 503 when the API-set credentials cannot be read. No secret is logged.
func (d Deps) authenticatePush(w http.ResponseWriter, r *http.Request, creds *pushCredentials, source string, verify func([]string) bool) (string, bool) {
	account, ok, err := creds.identify(r.Context(), source, r.PathValue("account"), verify)
	switch {
	case err != nil:
		d.Logger.Warn("push credentials unavailable", zap.String("source", source), zap.Error(err))
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "credentials store unavailable; retry later", "")
		return "", false
	case !ok:
		writeError(w, http.StatusUnauthorized, "missing or wrong webhook key or signature", "")
		return "", false
	}
	return account, true
}

// startIngest hands the event to Temporal: once PushIngest is started the
// event is durable, so only then is the answer 2xx. A redelivery finds the ID
// taken (a closed run keeps it taken unless it failed) and is
// answered 200 as a duplicate, changing nothing.
func (d Deps) startIngest(w http.ResponseWriter, r *http.Request, in push.Event) {
	attrs := []temporal.SearchAttributeUpdate{workflows.CourierAttr.ValueSet(in.Source)}
	if in.Waybill != "" {
		attrs = append(attrs, workflows.AWBAttr.ValueSet(in.Waybill))
	}
	if newest, ok := in.NewestScan(); ok {
		attrs = append(attrs, workflows.TrackingStatusAttr.ValueSet(newest.Status))
	}
	duplicate, err := d.handOff(r.Context(), in.EventID, attrs, workflows.PushIngest, in)
	if err != nil {
		d.writeUnavailable(w, "a push event", in.EventID, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"event_id": in.EventID, "duplicate": duplicate})
}

// mountPushAPI serves what the push webhooks recorded, behind the API key.
func mountPushAPI(mux *http.ServeMux, d Deps) {
	mux.HandleFunc("GET /v1/push-events", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := store.PushEventFilter{Source: q.Get("source"), Outcome: q.Get("outcome"), OrderID: q.Get("order_id")}
		var ok bool
		if f.Limit, ok = parseLimit(w, q); !ok {
			return
		}
		evs, err := d.Store.PushEvents(r.Context(), f)
		if !d.storeOK(w, err, "push_events") {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": evs})
	})
	mux.HandleFunc("GET /v1/stock-levels", func(w http.ResponseWriter, r *http.Request) {
		levels, err := d.Store.StockLevels(r.Context(), r.URL.Query().Get("product_code"))
		if !d.storeOK(w, err, "stock_levels") {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": levels})
	})
}
