package ingress

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"orderflow/store"
	"orderflow/tracking/push/clickpost"
	"orderflow/tracking/push/fulfilment"
	"orderflow/workflows"
)

// mountPushWebhooks serves the push tracking webhooks. They are outside /v1
// and its API key: each sender authenticates with its own per-account key
// (Clickpost) or signature (fulfilment). /webhooks/<source>/{account} names the
// account; the plain /webhooks/<source> lets the key or signature identify it.
func mountPushWebhooks(mux *http.ServeMux, d Deps, creds *pushCredentials) {
	cp := d.clickpostWebhook(creds)
	mux.HandleFunc("POST /webhooks/clickpost", cp)
	mux.HandleFunc("POST /webhooks/clickpost/{account}", cp)
	ff := d.fulfilmentWebhook(creds)
	mux.HandleFunc("POST /webhooks/fulfilment", ff)
	mux.HandleFunc("POST /webhooks/fulfilment/{account}", ff)
}

// clickpostWebhook: size (413), webhook key (401), body (400), then Temporal
// (503 when unreachable) before the 200 Clickpost waits for.
func (d Deps) clickpostWebhook(creds *pushCredentials) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := d.readPushBody(w, r)
		if !ok {
			return
		}
		key := clickpost.KeyFromRequest(r.Header.Get("webhook_key"), r.Header.Get("Authorization"))
		account, ok := d.authenticatePush(w, r, creds, clickpost.Source, func(keys []string) bool {
			return clickpost.VerifyKey(key, keys)
		})
		if !ok {
			return
		}
		ev, err := clickpost.Parse(body)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error(), "")
			return
		}
		d.startIngest(w, r, clickpostIngest(ev, account, d.Now().UTC()))
	}
}

// fulfilmentWebhook: size (413), X-Event-Signature over the raw bytes (401),
// X-Event-Delivery and body (400), then Temporal (503) before answering 200.
func (d Deps) fulfilmentWebhook(creds *pushCredentials) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := d.readPushBody(w, r)
		if !ok {
			return
		}
		sig := r.Header.Get("X-Event-Signature")
		account, ok := d.authenticatePush(w, r, creds, fulfilment.Source, func(secrets []string) bool {
			return fulfilment.Verify(body, sig, secrets)
		})
		if !ok {
			return
		}
		delivery, err := fulfilment.ParseDelivery(r.Header.Get("X-Event-Delivery"))
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error(), "X-Event-Delivery")
			return
		}
		ev, err := fulfilment.Parse(body)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error(), "")
			return
		}
		d.startIngest(w, r, fulfilmentIngest(ev, account, delivery, d.Now().UTC()))
	}
}

// readPushBody reads the raw body, at most MaxBodyBytes (413 beyond).
func (d Deps) readPushBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
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
func (d Deps) startIngest(w http.ResponseWriter, r *http.Request, in workflows.PushIngestInput) {
	attrs := []temporal.SearchAttributeUpdate{workflows.CourierAttr.ValueSet(in.Source)}
	if in.Waybill != "" {
		attrs = append(attrs, workflows.AWBAttr.ValueSet(in.Waybill))
	}
	if len(in.Scans) > 0 {
		attrs = append(attrs, workflows.TrackingStatusAttr.ValueSet(newestScan(in.Scans).Status))
	}
	duplicate, err := d.handOff(r.Context(), in.EventID, attrs, workflows.PushIngest, in)
	if err != nil {
		d.writeUnavailable(w, "a push event", in.EventID, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"event_id": in.EventID, "duplicate": duplicate})
}

func newestScan(scans []workflows.PushScan) workflows.PushScan {
	newest := scans[0]
	for _, s := range scans[1:] {
		if s.EventTime.After(newest.EventTime) {
			newest = s
		}
	}
	return newest
}

// clickpostIngest turns a Clickpost event into PushIngest's input. The order
// is found by waybill, then additional.order_id (the merchant's order _id). A
// customer return (is_rvp, code 101) keeps its forward AWB as the first way to
// find the order and carries no scan: it is recorded, never applied, never RTO.
// Both the event's scan and additional.latest_status are applied, each at its
// own time, so whichever is newer wins and an older one cannot regress the order.
func clickpostIngest(ev clickpost.Event, account string, now time.Time) workflows.PushIngestInput {
	in := workflows.PushIngestInput{
		EventID: workflows.PushIngestWorkflowID(clickpost.Source, account, ev.Key(account)),
		Source:  clickpost.Source, Account: account, Waybill: ev.Waybill, ReceivedAt: now, EventTime: now,
		Event: fmt.Sprintf("%d %s", ev.Code, ev.Description),
	}
	if ev.IsTest() {
		in.Kind, in.Event, in.Waybill = workflows.PushKindTest, "test_webhook", ""
		return in
	}
	in.EventTime, _ = clickpost.ParseTime(ev.Timestamp) // Parse checked it
	in.EventTime = in.EventTime.UTC()
	if ev.IsCustomerReturn() {
		in.Kind = workflows.PushKindCustomerReturn
		in.OrderRefs = orderRefs(store.OrderFieldAWB, ev.Additional.ForwardAWB, store.OrderFieldAWB, ev.Waybill,
			store.OrderFieldID, ev.Additional.OrderID)
		return in
	}
	in.OrderRefs = orderRefs(store.OrderFieldAWB, ev.Waybill, store.OrderFieldID, ev.Additional.OrderID)
	for _, s := range ev.Scans() {
		status, _ := clickpost.Canonical(s.Code)
		if status == "" {
			continue // a code with no canonical status (or an unknown one) changes no order
		}
		at, _ := clickpost.ParseTime(s.Timestamp)
		in.Scans = append(in.Scans, workflows.PushScan{Status: status, EventTime: at.UTC()})
	}
	in.Kind = workflows.PushKindStatus
	if len(in.Scans) == 0 {
		in.Kind = workflows.PushKindIgnored
	}
	return in
}

// fulfilmentIngest turns a fulfilment event into PushIngest's input. Its ID is
// the X-Event-Delivery id. The order code is matched against the order _id,
// then the order's fulfilment_code field.
func fulfilmentIngest(ev fulfilment.Event, account, delivery string, now time.Time) workflows.PushIngestInput {
	in := workflows.PushIngestInput{
		EventID: workflows.PushIngestWorkflowID(fulfilment.Source, account, delivery),
		Source:  fulfilment.Source, Account: account, Event: ev.Name, ReceivedAt: now, EventTime: now,
		Kind: workflows.PushKindIgnored,
	}
	switch {
	case ev.Order != nil:
		oc := ev.Order
		in.Event = ev.Name + " " + oc.ToStatus
		in.EventTime, _ = fulfilment.ParseTime(oc.Order.UpdatedAt) // Parse checked it
		in.EventTime = in.EventTime.UTC()
		in.OrderRefs = orderRefs(store.OrderFieldID, oc.Order.Code, store.OrderFieldFulfilmentCode, oc.Order.Code)
		if status, ok := fulfilment.Canonical(oc.ToStatus); ok {
			in.Kind = workflows.PushKindStatus
			in.Scans = []workflows.PushScan{{Status: status, EventTime: in.EventTime}}
		}
	case ev.Stock != nil:
		in.Kind = workflows.PushKindStock
		in.Event = ev.Name + " " + ev.Stock.ProductCode
		for _, l := range ev.Stock.Levels() {
			in.Stock = append(in.Stock, store.StockLevel{
				ID:      store.StockLevelID(account, l.MerchantCode, l.ProductCode, l.WarehouseCode, l.WarehouseAreaID),
				Account: account, MerchantCode: l.MerchantCode, ProductCode: l.ProductCode, WarehouseCode: l.WarehouseCode,
				WarehouseID: l.WarehouseID, WarehouseAreaID: l.WarehouseAreaID, SKUID: l.SKUID, StockID: l.StockID,
				Quantity: l.Quantity, RealQuantity: l.RealQuantity, UpdatedAt: l.UpdatedAt, EventID: in.EventID,
			})
		}
	}
	return in
}

// orderRefs builds refs from field/value pairs, skipping empty values.
func orderRefs(pairs ...string) []store.OrderRef {
	var refs []store.OrderRef
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			refs = append(refs, store.OrderRef{Field: pairs[i], Value: pairs[i+1]})
		}
	}
	return refs
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
