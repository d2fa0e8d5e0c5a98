package ingress

import (
	"net/http"
	"time"

	"orderflow/config"
	"orderflow/tracking/push"
	"orderflow/tracking/push/clickpost"
	"orderflow/tracking/push/delhivery"
	"orderflow/tracking/push/fulfilment"
	"orderflow/tracking/push/shiprocket"
)

// pushSources is the registry of push tracking webhooks; a source not listed
// is a 404. Each line is a source (its package under tracking/push verifies
// and parses) and the config.Push key that holds its credentials; the routes,
// the credentials API and the credential lookup follow from it.
var pushSources = []pushSource{
	servePush(clickpost.Push, func(p config.Push) config.Credentials { return p.ClickpostKeys }).withPlainRoute(),
	servePush(fulfilment.Push, func(p config.Push) config.Credentials { return p.FulfilmentSecrets }).withPlainRoute(),
	// Shiprocket's panel refuses a webhook URL containing "shiprocket",
	// "kartrocket", "sr" or "kr": the alias avoids them.
	servePush(shiprocket.Push, func(p config.Push) config.Credentials { return p.ShiprocketTokens }).
		withAlias("/webhooks/shipment-tracking/{account}"),
	servePush(delhivery.Push, func(p config.Push) config.Credentials { return p.DelhiveryTokens }),
}

// pushSource is one push tracking webhook: all the ingress needs to serve it
// (routes, credentials, verification, parsing) and to list and rotate its
// credentials through the configuration API.
type pushSource struct {
	// name is the source: its route /webhooks/<name>/{account}, its
	// credentials' source in the API, its workflow IDs and observations.
	name string
	// configured picks the source's credentials from the file and environment.
	configured func(config.Push) config.Credentials
	// plainRoute also serves /webhooks/<name>, where the key or signature
	// identifies the account (the first sources had it; newer ones name the account).
	plainRoute bool
	// aliases are further routes to the same handler; each names {account}.
	aliases []string
	// verifier returns the check of one account's secrets against the
	// request (constant time over every secret).
	verifier func(r *http.Request, body []byte) func(secrets []string) bool
	// event parses a verified request into the PushIngest input, its ID
	// derived from the event; an error is a 400 (a *push.InputError names the field).
	event func(r *http.Request, body []byte, account string, receivedAt time.Time) (push.Event, error)
}

// servePush serves src on /webhooks/<name>/{account}, its credentials read
// from the configuration by configured.
func servePush(src push.Source, configured func(config.Push) config.Credentials) pushSource {
	return pushSource{
		name:       src.Name(),
		configured: configured,
		verifier: func(r *http.Request, body []byte) func([]string) bool {
			return func(secrets []string) bool { return src.Verify(r.Header, body, secrets) }
		},
		event: func(r *http.Request, body []byte, account string, at time.Time) (push.Event, error) {
			return src.Event(r.Header, body, account, at)
		},
	}
}

// withPlainRoute also serves /webhooks/<name>, the account found by its credential.
func (s pushSource) withPlainRoute() pushSource {
	s.plainRoute = true
	return s
}

// withAlias also serves route, which names {account}.
func (s pushSource) withAlias(route string) pushSource {
	s.aliases = append(s.aliases, route)
	return s
}

// pushSourceNames lists the registry's sources, in its order.
func pushSourceNames() []string {
	names := make([]string, len(pushSources))
	for i, src := range pushSources {
		names[i] = src.name
	}
	return names
}
