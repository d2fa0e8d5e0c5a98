package ingress

import (
	"mime"
	"net/http"
)

// jsonMediaType is what every sender of a body to orderflow really sends: the
// configuration API's clients, the billing platforms (Chargebee, Recurly's
// JSON webhooks, Stripe, the custom platform), Clickpost and the fulfilment
// platform all post application/json.
const jsonMediaType = "application/json"

// acceptsJSON answers 415 unless the request's Content-Type is
// application/json. The media type is compared after parsing, so parameters
// (charset=utf-8) and letter case pass. It runs before anything else a
// body-reading route does, signature checks included: a wrong type is refused
// without reading the body, touching the store or starting anything, and it
// tells the caller nothing about keys or accounts.
func acceptsJSON(w http.ResponseWriter, r *http.Request) bool {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil && mediaType == jsonMediaType {
		return true
	}
	writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be "+jsonMediaType, "Content-Type")
	return false
}

// jsonBody mounts a route that reads a JSON body: acceptsJSON first.
func jsonBody(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if acceptsJSON(w, r) {
			next(w, r)
		}
	}
}
