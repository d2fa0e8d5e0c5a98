package ingress

import (
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"orderflow/store"
)

// StoreTimeout bounds each store operation a request makes (the starter's
// store is connected with store.OperationTimeout(StoreTimeout)), so a store
// outage is answered 503 within two seconds instead of after the driver's
// server-selection timeout. Lookups on the happy path take milliseconds.
const StoreTimeout = 1500 * time.Millisecond

// storeRetryAfter is the Retry-After, in seconds, of a 503 for a store outage.
const storeRetryAfter = "5"

// storeOK answers a store error (404, 409, 503 while the store is away, or
// 500) and reports whether there was none.
func (d Deps) storeOK(w http.ResponseWriter, err error, what string) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not found", "")
	case errors.Is(err, store.ErrDuplicate):
		writeError(w, http.StatusConflict, "name already exists", "name")
	case store.IsUnavailable(err):
		d.writeStoreUnavailable(w, what, err)
	default:
		d.Logger.Error("store error", zap.String("resource", what), zap.Error(err))
		writeError(w, http.StatusInternalServerError, "internal error", "")
	}
	return false
}

// writeStoreUnavailable answers a request the store could not serve: the
// caller retries (503 with Retry-After); nothing was recorded.
func (d Deps) writeStoreUnavailable(w http.ResponseWriter, what string, err error) {
	d.Logger.Warn("store unavailable", zap.String("resource", what), zap.Error(err))
	w.Header().Set("Retry-After", storeRetryAfter)
	writeError(w, http.StatusServiceUnavailable, "store unavailable; retry later", "")
}
