package fulfilment

import (
	"time"

	"orderflow/tracking/push"
)

// Push is the fulfilment platform as a push source: X-Event-Signature over the
// raw body checked against the account's secrets, and an event whose ID
// derives from the X-Event-Delivery id.
var Push push.Source = source{}

type source struct{}

func (source) Name() string { return Source }

func (source) Verify(h push.Headers, body []byte, secrets []string) bool {
	return Verify(body, h.Get("X-Event-Signature"), secrets)
}

func (source) Event(h push.Headers, body []byte, account string, receivedAt time.Time) (push.Event, error) {
	delivery, err := ParseDelivery(h.Get("X-Event-Delivery"))
	if err != nil {
		return push.Event{}, &push.InputError{Msg: err.Error(), Field: "X-Event-Delivery"}
	}
	ev, err := Parse(body)
	if err != nil {
		return push.Event{}, err
	}
	id := push.WorkflowID(Source, account, delivery)
	return Ingest(ev, account, id, receivedAt), nil
}
