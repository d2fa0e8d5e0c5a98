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
	"orderflow/workflows"
)

// pushSource is one push tracking webhook: all the ingress needs to serve it
// (routes, credentials, verification, parsing) and to list and rotate its
// credentials through the configuration API. Adding a source is its package
// under tracking/push (parser, status mapping, credential check, Ingest), its
// configuration key in config.Push, and one entry in pushSources.
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
	// verifier reads the request's credential once and returns the check of
	// one account's secrets against it (constant time over every secret).
	verifier func(r *http.Request, body []byte) func(secrets []string) bool
	// event parses a verified request into the PushIngest input, its ID
	// derived from the event; an error is a 400 (a *pushInputError names the field).
	event func(r *http.Request, body []byte, account string, receivedAt time.Time) (push.Event, error)
}

// pushInputError is a refused request naming the field at fault.
type pushInputError struct{ msg, field string }

func (e *pushInputError) Error() string { return e.msg }

// pushSources is the registry of push tracking webhooks; a source not listed is a 404.
var pushSources = []pushSource{
	{
		name:       clickpost.Source,
		configured: func(p config.Push) config.Credentials { return p.ClickpostKeys },
		plainRoute: true,
		verifier: func(r *http.Request, _ []byte) func([]string) bool {
			key := clickpost.KeyFromRequest(r.Header.Get("webhook_key"), r.Header.Get("Authorization"))
			return func(keys []string) bool { return clickpost.VerifyKey(key, keys) }
		},
		// Clickpost has no event id: the ID derives from a hash of the event.
		event: func(_ *http.Request, body []byte, account string, at time.Time) (push.Event, error) {
			ev, err := clickpost.Parse(body)
			if err != nil {
				return push.Event{}, err
			}
			id := workflows.PushIngestWorkflowID(clickpost.Source, account, ev.Key(account))
			return clickpost.Ingest(ev, account, id, at), nil
		},
	},
	{
		name:       fulfilment.Source,
		configured: func(p config.Push) config.Credentials { return p.FulfilmentSecrets },
		plainRoute: true,
		// X-Event-Signature is over the raw bytes, checked before parsing.
		verifier: func(r *http.Request, body []byte) func([]string) bool {
			sig := r.Header.Get("X-Event-Signature")
			return func(secrets []string) bool { return fulfilment.Verify(body, sig, secrets) }
		},
		// The ID derives from the X-Event-Delivery id.
		event: func(r *http.Request, body []byte, account string, at time.Time) (push.Event, error) {
			delivery, err := fulfilment.ParseDelivery(r.Header.Get("X-Event-Delivery"))
			if err != nil {
				return push.Event{}, &pushInputError{msg: err.Error(), field: "X-Event-Delivery"}
			}
			ev, err := fulfilment.Parse(body)
			if err != nil {
				return push.Event{}, err
			}
			id := workflows.PushIngestWorkflowID(fulfilment.Source, account, delivery)
			return fulfilment.Ingest(ev, account, id, at), nil
		},
	},
	{
		name:       shiprocket.Source,
		configured: func(p config.Push) config.Credentials { return p.ShiprocketTokens },
		// Shiprocket's panel refuses a webhook URL containing "shiprocket",
		// "kartrocket", "sr" or "kr": this route avoids them.
		aliases: []string{"/webhooks/shipment-tracking/{account}"},
		verifier: func(r *http.Request, _ []byte) func([]string) bool {
			token := r.Header.Get(shiprocket.TokenHeader)
			return func(secrets []string) bool { return shiprocket.Verify(token, secrets) }
		},
		// Shiprocket has no event id: the ID derives from a hash of the event.
		event: func(_ *http.Request, body []byte, account string, at time.Time) (push.Event, error) {
			ev, err := shiprocket.Parse(body)
			if err != nil {
				return push.Event{}, err
			}
			id := workflows.PushIngestWorkflowID(shiprocket.Source, account, ev.Key(account))
			return shiprocket.Ingest(ev, account, id, at), nil
		},
	},
	{
		name:       delhivery.Source,
		configured: func(p config.Push) config.Credentials { return p.DelhiveryTokens },
		verifier: func(r *http.Request, _ []byte) func([]string) bool {
			authorization := r.Header.Get("Authorization")
			return func(secrets []string) bool { return delhivery.Verify(authorization, secrets) }
		},
		// Delhivery has no event id: the ID derives from a hash of the scan.
		event: func(_ *http.Request, body []byte, account string, at time.Time) (push.Event, error) {
			ev, err := delhivery.Parse(body)
			if err != nil {
				return push.Event{}, err
			}
			id := workflows.PushIngestWorkflowID(delhivery.Source, account, ev.Key(account))
			return delhivery.Ingest(ev, account, id, at), nil
		},
	},
}

// pushSourceNames lists the registry's sources, in its order.
func pushSourceNames() []string {
	names := make([]string, len(pushSources))
	for i, src := range pushSources {
		names[i] = src.name
	}
	return names
}
