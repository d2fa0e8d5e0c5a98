package recovery

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// ErrMalformed is wrapped by every parse failure: the body is not an event of
// the platform, or lacks what recovery truly needs.
var ErrMalformed = errors.New("malformed billing event")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Parse turns a verified webhook body of platform into an Event. Parsing is
// lenient (platforms' own samples lack fields) and fails only on what recovery
// needs: an event type, an invoice for the invoice events it acts on, and a
// customer for a card update. Events of
// other types parse as OtherEvent. A Recurly event, or a Stripe failure with a
// charge, comes back with Lookup set: complete it with the Complete* functions.
func Parse(platform string, body []byte, h http.Header) (Event, error) {
	p, ok := PlatformNamed(platform)
	if !ok {
		return Event{}, fmt.Errorf("%w: unknown platform %q", ErrMalformed, platform)
	}
	ev, err := p.Parse(body, h)
	if err != nil {
		return Event{}, err
	}
	ev.Platform = platform
	if ev.Kind == PaymentMethodUpdated {
		if ev.ConnectorCustomerID == "" && ev.Lookup == nil {
			return Event{}, malformed("%s event %s names no customer", platform, ev.PlatformEventType)
		}
		return ev, nil
	}
	if ev.Kind != OtherEvent && ev.InvoiceID == "" && ev.Lookup == nil {
		return Event{}, malformed("%s event %s names no invoice", platform, ev.PlatformEventType)
	}
	return ev, nil
}

func decodeStrict(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return malformed("not JSON: %v", jsonReason(err))
	}
	return nil
}

// jsonReason keeps the decoder's error short and free of body content.
func jsonReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%s has the wrong type", te.Field)
	}
	return "invalid"
}
