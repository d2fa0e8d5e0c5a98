package recovery

import (
	"net/http"
	"slices"
	"time"
)

// Platform is a billing platform recovery takes webhooks from: how its
// webhooks are signed and how their bodies read, and what recovery asks of its
// API (described here, sent by recovery/connector). Each platform lives in its
// own file; adding one is that file and a line in platforms.
type Platform interface {
	// Name is the connector_name of the platform's connector accounts.
	Name() string
	// Verify checks the webhook's own signature scheme over the raw body,
	// accepting any of the connector's secrets (the previous one while a secret rolls).
	Verify(h http.Header, body []byte, c WebhookCredentials, now time.Time) error
	// Parse turns a verified body into an Event (see Parse for the rules all platforms share).
	Parse(body []byte, h http.Header) (Event, error)
	// CheckCredentials says what the platform needs of a connector's webhook
	// credentials beyond a secret; nil when they will do.
	CheckCredentials(c WebhookCredentials) *SettingError
	// HasAPI reports whether recovery calls the platform's API (record-back,
	// look-ups of thin events): its connectors then need a base URL and an API key.
	HasAPI() bool
	// APIAuth is how the platform's API takes a connector's API key.
	APIAuth() APIAuth
	// RecordBackRequest is the call that tells the platform our retry paid
	// the invoice, so its own dunning stops; false when there is none to make.
	RecordBackRequest(inv PaidInvoice) (APIRequest, bool)
	// CompleteEvent fills in what a thin event (Lookup set) leaves out from
	// fetch's answers; ErrMalformed when the platform cannot look it up.
	CompleteEvent(ev Event, fetch Fetch) (Event, error)
}

// platforms are the billing platforms recovery accepts, by connector_name.
var platforms = registry(chargebee{}, recurly{}, stripeBilling{}, customBilling{})

func registry(ps ...Platform) map[string]Platform {
	m := make(map[string]Platform, len(ps))
	for _, p := range ps {
		m[p.Name()] = p
	}
	return m
}

// PlatformNamed returns the billing platform of a connector_name.
func PlatformNamed(name string) (Platform, bool) {
	p, ok := platforms[name]
	return p, ok
}

// PlatformNames lists the billing platforms' connector_names, sorted.
func PlatformNames() []string {
	names := make([]string, 0, len(platforms))
	for n := range platforms {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// IsBillingPlatform reports whether name is a billing processor we accept webhooks from.
func IsBillingPlatform(name string) bool {
	_, ok := platforms[name]
	return ok
}

// WebhookCredentials are what a connector holds to verify its platform's
// webhooks: its secrets, current first, and Chargebee's Basic user.
type WebhookCredentials struct {
	Username string
	Secrets  []string
}

// SettingError names a connector's webhook credential (a field of
// connector_webhook_details) its platform cannot work with, and why.
type SettingError struct {
	Field   string
	Message string
}

func (e *SettingError) Error() string { return e.Field + " " + e.Message }

// VerifyWebhook checks a webhook of platform with the platform's own scheme;
// a connector without a secret verifies nothing.
func VerifyWebhook(platform string, h http.Header, body []byte, c WebhookCredentials, now time.Time) error {
	p, ok := PlatformNamed(platform)
	if !ok {
		return unverified("unknown platform")
	}
	if len(c.Secrets) == 0 {
		return unverified("no webhook secret configured")
	}
	return p.Verify(h, body, c, now)
}
