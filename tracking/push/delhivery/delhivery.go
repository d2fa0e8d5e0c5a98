// Package delhivery is the Delhivery push source: the scans Delhivery POSTs
// to an endpoint the client registers ("Tracking via Push API (webhook)" in
// Delhivery's B2C API docs), authenticated by the Authorization header agreed
// at registration (Delhivery has no signature scheme). It parses the body,
// maps it with the poller's table (tracking/couriers/delhivery) and turns it
// into the PushIngest workflow's push.Event (Ingest).
//
// Direction lives in StatusType, not Status: "In Transit" is forward under UD,
// an RTO under RT and a customer return under PU; DL covers Delivered, RTO
// (RTO delivered) and DTO (a customer return delivered back). Delhivery pushes
// each scan once and retries once at most, so polling stays the safety net.
package delhivery

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"orderflow/tracking/couriers"
	courier "orderflow/tracking/couriers/delhivery"
	"orderflow/tracking/push"
)

// Source names Delhivery's push webhook in observations, routes and credentials.
const Source = "delhivery"

// Status is the scan's status block, the same pair as the poll response's.
type Status struct {
	Status         string `json:"Status"`     // e.g. "In Transit"
	StatusType     string `json:"StatusType"` // UD, RT, DL, PP, PU, CN
	StatusDateTime string `json:"StatusDateTime"`
	StatusLocation string `json:"StatusLocation"`
	Instructions   string `json:"Instructions"`
	// StatusCode is in the poll response (e.g. EOD-74) but not in the push
	// sample, which carries the scan's code as Shipment.NSLCode instead.
	StatusCode string `json:"StatusCode"`
}

// Shipment is the body's one shipment (the fields orderflow reads).
type Shipment struct {
	AWB         push.LooseString `json:"AWB"`
	ReferenceNo push.LooseString `json:"ReferenceNo"` // the client's order reference given at manifest
	Status      Status           `json:"Status"`
	NSLCode     string           `json:"NSLCode"` // the scan's code, e.g. X-UCI
	Sortcode    string           `json:"Sortcode"`
	PickUpDate  string           `json:"PickUpDate"` // set before any pickup happens: not a pickup time
	// ReverseInTransit and RTOStartedDate are poll-response fields marking an
	// RTO on a UD scan; read when a push carries them (not in the sample).
	ReverseInTransit push.LooseBool   `json:"ReverseInTransit"`
	RTOStartedDate   push.LooseString `json:"RTOStartedDate"`
}

// Event is a Delhivery push body: {"Shipment": {...}}.
type Event struct {
	Shipment *Shipment `json:"Shipment"`
}

// ErrInvalid wraps every reason a body is refused.
var ErrInvalid = errors.New("invalid delhivery event")

// Parse decodes and checks a body: a Shipment with an AWB, a Status with its
// StatusType and a StatusDateTime (IST when it has no offset, as Delhivery writes it).
func Parse(body []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return Event{}, fmt.Errorf("%w: %s", ErrInvalid, push.DescribeJSONError(err))
	}
	s := ev.Shipment
	switch {
	case s == nil:
		return Event{}, fmt.Errorf("%w: Shipment is required", ErrInvalid)
	case s.AWB == "":
		return Event{}, fmt.Errorf("%w: Shipment.AWB is required", ErrInvalid)
	case strings.TrimSpace(s.Status.StatusType) == "" || strings.TrimSpace(s.Status.Status) == "":
		return Event{}, fmt.Errorf("%w: Shipment.Status.Status and StatusType are required", ErrInvalid)
	}
	if _, ok := couriers.ParseIST(s.Status.StatusDateTime); !ok {
		return Event{}, fmt.Errorf("%w: Shipment.Status.StatusDateTime is not a time", ErrInvalid)
	}
	return ev, nil
}

// courierStatus is what the poller's table maps: the scan's code is
// Status.StatusCode when present, else NSLCode.
func (e Event) courierStatus() courier.Status {
	s := e.Shipment
	code := s.Status.StatusCode
	if code == "" {
		code = s.NSLCode
	}
	return courier.Status{
		Status: s.Status.Status, StatusType: s.Status.StatusType, StatusCode: code,
		ReverseInTransit: bool(s.ReverseInTransit), RTOStarted: s.RTOStartedDate != "",
	}
}

// Time is the scan's StatusDateTime.
func (e Event) Time() time.Time {
	t, _ := couriers.ParseIST(e.Shipment.Status.StatusDateTime) // Parse checked it
	return t
}

// Key identifies the scan for de-duplication. Delhivery sends no event id, so
// the key hashes what a redelivery repeats exactly — the AWB, the status, its
// type and code, and its time — under the account.
func (e Event) Key(account string) string {
	st := e.courierStatus()
	sum := sha256.Sum256([]byte(strings.Join([]string{account, string(e.Shipment.AWB), st.StatusType, st.Status,
		st.StatusCode, e.Shipment.Status.StatusDateTime}, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// Verify reports whether the Authorization header ("Bearer x", "Token x" or
// the bare token) holds one of the account's secrets, in constant time over
// every secret (push.VerifyToken).
func Verify(authorization string, secrets []string) bool {
	return push.VerifyToken(push.TokenFromAuthorization(authorization), secrets)
}
