package clickpost

import (
	"time"

	"orderflow/tracking/push"
)

// Push is Clickpost as a push source: the webhook_key header (or an
// Authorization key) checked against the account's keys, and an event whose
// ID derives from a hash of the event, Clickpost sending no event id.
var Push push.Source = source{}

type source struct{}

func (source) Name() string { return Source }

func (source) Verify(h push.Headers, _ []byte, keys []string) bool {
	return VerifyKey(KeyFromRequest(h.Get("webhook_key"), h.Get("Authorization")), keys)
}

func (source) Event(_ push.Headers, body []byte, account string, receivedAt time.Time) (push.Event, error) {
	ev, err := Parse(body)
	if err != nil {
		return push.Event{}, err
	}
	id := push.WorkflowID(Source, account, ev.Key(account))
	return Ingest(ev, account, id, receivedAt), nil
}
