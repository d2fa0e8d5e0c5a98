package push

import "time"

// Source is one push tracking source as the HTTP edge serves it: its name,
// its sender's credential check and the Event a verified request becomes.
// Each source package under tracking/push exports one (clickpost.Push,
// fulfilment.Push, shiprocket.Push, delhivery.Push); the ingress lists them
// with the configuration key that holds their credentials.
type Source interface {
	// Name is the source: its route /webhooks/<name>/{account}, its
	// credentials' source, its workflow IDs and observations.
	Name() string
	// Verify reports whether the request carries one of an account's
	// secrets (two while a secret is rotated): the header and scheme the
	// sender uses, compared in constant time over every secret. It runs
	// before the body is parsed, on the raw bytes a signature covers.
	Verify(headers Headers, body []byte, secrets []string) bool
	// Event parses a verified request into the PushIngest workflow's input,
	// its EventID derived from the event itself (WorkflowID), so a
	// redelivery is recognised. An error is a refused request (400); an
	// *InputError names the field at fault.
	Event(headers Headers, body []byte, account string, receivedAt time.Time) (Event, error)
}

// Headers is how a Source reads the request's headers (http.Header is one).
type Headers interface {
	Get(key string) string
}

// WorkflowID derives a PushIngest's ID, which is also the Event's EventID,
// from the event's own identity: the sender's delivery id where it has one
// (the fulfilment platform's X-Event-Delivery), a hash of the event otherwise.
// A redelivered event gets the same ID and is rejected as a duplicate.
func WorkflowID(source, account, eventKey string) string {
	return "push:" + source + ":" + account + ":" + eventKey
}

// InputError is a refused request naming the field (or header) at fault.
type InputError struct {
	Msg   string
	Field string
}

func (e *InputError) Error() string { return e.Msg }
