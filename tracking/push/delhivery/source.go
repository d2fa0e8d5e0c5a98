package delhivery

import (
	"time"

	"orderflow/tracking/push"
)

// Push is Delhivery as a push source: the token in the Authorization header
// ("Bearer x", "Token x" or bare) checked against the account's tokens, and an
// event whose ID derives from a hash of the scan, Delhivery sending no event id.
var Push push.Source = source{}

type source struct{}

func (source) Name() string { return Source }

func (source) Verify(h push.Headers, _ []byte, tokens []string) bool {
	return Verify(h.Get("Authorization"), tokens)
}

func (source) Event(_ push.Headers, body []byte, account string, receivedAt time.Time) (push.Event, error) {
	ev, err := Parse(body)
	if err != nil {
		return push.Event{}, err
	}
	id := push.WorkflowID(Source, account, ev.Key(account))
	return Ingest(ev, account, id, receivedAt), nil
}
