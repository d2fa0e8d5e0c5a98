package recovery

import (
	"net/http"
	"net/url"
	"strconv"
)

// APIRequest describes one call to a billing platform's API. The platform
// says what to send; recovery/connector sends it, so this package stays free
// of network I/O.
type APIRequest struct {
	// Op names the call in errors ("recurly invoice").
	Op     string
	Method string // http.MethodGet, http.MethodPost, http.MethodPut
	// Path follows the connector's base URL; its ids are already escaped.
	Path string
	// Form, when set, is sent as an application/x-www-form-urlencoded body.
	Form map[string]string
}

// APIAuth is how a platform's API takes a connector's API key: HTTP Basic
// (the key as the user, no password) or a Bearer token, and the Accept header
// some platforms version their API with.
type APIAuth struct {
	Basic  bool
	Accept string
}

// PaidInvoice is an invoice our retry paid, as a record-back tells it.
type PaidInvoice struct {
	InvoiceID       string
	Amount          int64
	Currency        string
	PaymentIntentID string
}

// Fetch sends a GET described by its request to the connector's platform and
// returns the body of a 2xx answer.
type Fetch func(APIRequest) ([]byte, error)

// getRequest is a GET of path, whose ids the caller escaped.
func getRequest(op, path string) APIRequest {
	return APIRequest{Op: op, Method: http.MethodGet, Path: path}
}

// escape makes a platform's id safe as one path segment.
func escape(id string) string { return url.PathEscape(id) }

func formatAmount(minor int64) string { return strconv.FormatInt(minor, 10) }
