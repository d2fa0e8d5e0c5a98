// Package clickpost is the Clickpost push source: its webhook's
// authentication by webhook_key, the payload parser, its status codes mapped
// to the canonical set (Clickpost's webhook docs), and Ingest, which turns an
// event into the PushIngest workflow's push.Event.
package clickpost

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"orderflow/tracking"
)

// Source names Clickpost in observations.
const Source = "clickpost"

// CodeCustomerReturn is "Return Order Placed": a customer return, never an RTO.
const CodeCustomerReturn = 101

// statusByCode maps every clickpost_status_code of docs/couriers.md to a canonical
// status. "" means the code carries no canonical status of its own (it is
// recorded, and the order's status is left as it is).
var statusByCode = map[int]string{
	1:   tracking.Pending,        // Order Placed
	2:   tracking.Booked,         // Pickup Pending
	3:   tracking.Booked,         // Pickup Failed ("Pickup Cancelled" in older docs): still waiting for pickup
	4:   tracking.PickedUp,       // Picked Up
	5:   tracking.InTransit,      // In Transit
	6:   tracking.OutForDelivery, // Out For Delivery
	7:   "",                      // Not Serviceable
	8:   tracking.Delivered,      // Delivered
	9:   tracking.NDR,            // Failed Delivery
	10:  tracking.Cancelled,      // Cancelled
	11:  tracking.RTO,            // RTO Requested
	12:  tracking.RTO,            // RTO (marked as return)
	13:  tracking.RTOInTransit,   // RTO Out For Delivery
	14:  tracking.RTODelivered,   // RTO Delivered
	15:  tracking.RTOInTransit,   // RTO Failed: the parcel is still on its way back
	16:  tracking.Lost,           // Lost
	17:  tracking.Damaged,        // Damaged
	18:  "",                      // Shipment Delayed: says nothing of where the parcel is (a late "in transit" would undo "out for delivery")
	19:  "",                      // Contact Customer Care
	20:  "",                      // Shipment Held
	21:  tracking.RTOInTransit,   // RTO In Transit
	23:  tracking.Cancelled,      // Expired
	25:  tracking.Booked,         // Out For Pickup
	26:  tracking.RTOInTransit,   // RTO Contact Customer Care
	27:  tracking.RTOInTransit,   // RTO Shipment Delay
	28:  tracking.Booked,         // AWB Registered
	101: "",                      // Return Order Placed: a customer return
}

// Canonical maps a code; known is false for a code outside the table.
func Canonical(code int) (status string, known bool) {
	status, known = statusByCode[code]
	return status, known
}

// Scan is one status report: the event's own or its additional.latest_status.
type Scan struct {
	Code        int    `json:"clickpost_status_code"`
	Description string `json:"clickpost_status_description"`
	Status      string `json:"status"`
	Location    string `json:"location"`
	Timestamp   string `json:"timestamp"`
	Remark      string `json:"remark"`
}

// Event is a Clickpost webhook body.
type Event struct {
	Waybill string `json:"waybill"`
	CPID    int    `json:"cp_id"`
	Scan
	Additional struct {
		IsRVP               *bool  `json:"is_rvp"` // null means not a return
		OrderID             string `json:"order_id"`
		ForwardAWB          string `json:"forward_awb"`
		NotificationEventID *int   `json:"notification_event_id"`
		LatestStatus        *Scan  `json:"latest_status"`
	} `json:"additional"`
	// TestData is set on Clickpost's test-webhook payload.
	TestData json.RawMessage `json:"test_data"`
}

// ErrInvalid wraps every reason a body is refused.
var ErrInvalid = errors.New("invalid clickpost event")

// Parse decodes and checks a body. A test payload is valid with no other field.
func Parse(body []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return Event{}, fmt.Errorf("%w: not valid JSON", ErrInvalid)
	}
	if ev.IsTest() {
		return ev, nil
	}
	if ev.Code == 0 {
		return Event{}, fmt.Errorf("%w: clickpost_status_code is required", ErrInvalid)
	}
	if _, err := ParseTime(ev.Timestamp); err != nil {
		return Event{}, fmt.Errorf("%w: timestamp: %v", ErrInvalid, err)
	}
	if ev.Waybill == "" && ev.Additional.OrderID == "" && !ev.IsCustomerReturn() {
		return Event{}, fmt.Errorf("%w: waybill or additional.order_id is required", ErrInvalid)
	}
	if ls := ev.Additional.LatestStatus; ls != nil {
		if _, err := ParseTime(ls.Timestamp); err != nil {
			return Event{}, fmt.Errorf("%w: additional.latest_status.timestamp: %v", ErrInvalid, err)
		}
	}
	return ev, nil
}

// IsTest reports Clickpost's test-webhook payload.
func (e Event) IsTest() bool { return len(e.TestData) > 0 && string(e.TestData) != "null" }

// IsCustomerReturn reports a reverse pickup: is_rvp true or code 101. Never RTO.
func (e Event) IsCustomerReturn() bool {
	return (e.Additional.IsRVP != nil && *e.Additional.IsRVP) || e.Code == CodeCustomerReturn
}

// Key identifies the event for de-duplication. Clickpost has no event id:
// notification_event_id is the kind of event (6 = RTO in transit), shared by
// many events, so the key hashes what a redelivery repeats exactly — the
// shipment (waybill, order id, forward AWB), the code, the scan time and the
// notification kind — under the account. additional.latest_status is left
// out on purpose: Clickpost fills it at send time, so a retry may carry a newer one.
func (e Event) Key(account string) string {
	if e.IsTest() {
		sum := sha256.Sum256(append([]byte(account+"\x00test\x00"), e.TestData...))
		return hex.EncodeToString(sum[:16])
	}
	notification := ""
	if e.Additional.NotificationEventID != nil {
		notification = fmt.Sprint(*e.Additional.NotificationEventID)
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{account, e.Waybill, e.Additional.OrderID,
		e.Additional.ForwardAWB, fmt.Sprint(e.Code), e.Timestamp, notification}, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// KeyFromRequest reads the webhook key: the webhook_key header of Clickpost's webhook docs,
// or an Authorization token ("Bearer x", "Token x" or the bare value).
func KeyFromRequest(webhookKeyHeader, authorization string) string {
	if webhookKeyHeader != "" {
		return webhookKeyHeader
	}
	for _, scheme := range []string{"Bearer ", "Token "} {
		if k, ok := strings.CutPrefix(authorization, scheme); ok {
			return k
		}
	}
	return authorization
}

// VerifyKey reports whether got is one of keys (two are valid during a
// rotation). It compares SHA-256 digests in constant time and tries every
// key without stopping early, so neither the time taken nor the key lengths
// tell an attacker how close a guess was or which key matched.
func VerifyKey(got string, keys []string) bool {
	if got == "" {
		return false
	}
	g := sha256.Sum256([]byte(got))
	ok := 0
	for _, k := range keys {
		w := sha256.Sum256([]byte(k))
		ok |= constantTimeEqual(g[:], w[:])
	}
	return ok == 1
}

// constantTimeEqual is subtle.ConstantTimeCompare; a variable so a test can
// check that every key is compared, on equal-length digests.
var constantTimeEqual = subtle.ConstantTimeCompare

// Scans returns the event's scan and, when present, its latest_status: each
// carries its own time, and the status path keeps whichever is newest.
func (e Event) Scans() []Scan {
	scans := []Scan{e.Scan}
	if ls := e.Additional.LatestStatus; ls != nil && (ls.Code != e.Code || ls.Timestamp != e.Timestamp) {
		scans = append(scans, *ls)
	}
	return scans
}

// ist is India Standard Time: Clickpost timestamps without an offset are IST.
var ist = time.FixedZone("IST", 5*3600+1800)

// ParseTime reads an RFC 3339 timestamp, or one without an offset as IST.
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, s, ist); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a timestamp", s)
}
