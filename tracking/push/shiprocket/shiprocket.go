// Package shiprocket is the Shiprocket push source: the tracking webhook
// Shiprocket sends to the URL set in its panel (Settings → API → Webhooks),
// authenticated by the panel's security token in the x-api-key header. It
// parses the body, maps it with the poller's shipment_status table
// (tracking/couriers/shiprocket) and turns it into the PushIngest workflow's
// push.Event (Ingest).
//
// Two traps shape it. The body carries two numberings for the same event:
// current_status_id (20 for in transit) and shipment_status_id (18 for in
// transit); only shipment_status_id is the table's numbering, and 20 there
// is "Pickup Exception". And a return shipment (is_return) reuses forward
// labels and codes, RTO ones included: it is a customer return, never an RTO.
package shiprocket

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"orderflow/tracking/couriers"
	"orderflow/tracking/push"
)

// Source names Shiprocket's push webhook in observations, routes and credentials.
const Source = "shiprocket"

// TokenHeader is where Shiprocket sends the security token set in its panel.
const TokenHeader = "x-api-key"

// Scan is one entry of the body's scan history. Its sr-status is in the
// shipment_status numbering (the provider's sample pairs 5 with "MANIFEST
// GENERATED" and 42 with "PICKED UP"); a courier scan with no Shiprocket
// status reads "NA" or nothing.
type Scan struct {
	Date          string           `json:"date"`
	Status        string           `json:"status"` // the courier's own scan code, e.g. X-PPOM
	Activity      string           `json:"activity"`
	Location      string           `json:"location"` // free text: "RTO/CHD" can be a forward hub's name
	SRStatus      push.LooseString `json:"sr-status"`
	SRStatusLabel string           `json:"sr-status-label"`
}

// Event is a Shiprocket tracking webhook body (the fields orderflow reads).
type Event struct {
	AWB              push.LooseString `json:"awb"`
	CourierName      string           `json:"courier_name"`
	CurrentStatus    string           `json:"current_status"`
	CurrentStatusID  push.LooseInt    `json:"current_status_id"` // another numbering: never mapped
	ShipmentStatus   string           `json:"shipment_status"`
	ShipmentStatusID push.LooseInt    `json:"shipment_status_id"`
	CurrentTimestamp string           `json:"current_timestamp"`
	OrderID          push.LooseString `json:"order_id"` // the channel's order id, as the merchant created it
	SROrderID        push.LooseString `json:"sr_order_id"`
	ETD              string           `json:"etd"`
	Scans            []Scan           `json:"scans"`
	IsReturn         push.LooseBool   `json:"is_return"`
	ChannelID        push.LooseString `json:"channel_id"`
}

// ErrInvalid wraps every reason a body is refused.
var ErrInvalid = errors.New("invalid shiprocket event")

// Parse decodes and checks a body: a shipment (awb or order_id), a status in
// the shipment_status numbering (shipment_status_id, or else a scan's
// sr-status) and a time (current_timestamp, or else a scan's date).
func Parse(body []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return Event{}, fmt.Errorf("%w: %s", ErrInvalid, push.DescribeJSONError(err))
	}
	if ev.AWB == "" && ev.OrderID == "" {
		return Event{}, fmt.Errorf("%w: awb or order_id is required", ErrInvalid)
	}
	if _, ok := ev.statusCode(); !ok {
		return Event{}, fmt.Errorf("%w: shipment_status_id is required (current_status_id is another numbering)", ErrInvalid)
	}
	if ev.CurrentTimestamp != "" {
		if _, ok := ParseTime(ev.CurrentTimestamp); !ok {
			return Event{}, fmt.Errorf("%w: current_timestamp %q is not a time", ErrInvalid, ev.CurrentTimestamp)
		}
	}
	if _, ok := ev.Time(); !ok {
		return Event{}, fmt.Errorf("%w: current_timestamp is required", ErrInvalid)
	}
	return ev, nil
}

// statusCode is the event's status in the shipment_status numbering:
// shipment_status_id, or the newest scan's sr-status when it is missing.
func (e Event) statusCode() (int, bool) {
	if e.ShipmentStatusID > 0 {
		return int(e.ShipmentStatusID), true
	}
	if s, ok := e.newestScan(); ok {
		return s.code, true
	}
	return 0, false
}

// Time is when the event happened: current_timestamp, or the newest scan's date.
func (e Event) Time() (time.Time, bool) {
	if t, ok := ParseTime(e.CurrentTimestamp); ok {
		return t, true
	}
	if s, ok := e.newestScan(); ok {
		return s.at, true
	}
	return time.Time{}, false
}

// codedScan is a scan with a usable sr-status and date.
type codedScan struct {
	code int
	at   time.Time
}

// codedScans are the scans with a shipment_status code and a readable date;
// the others (a courier scan Shiprocket did not classify) say nothing.
func (e Event) codedScans() []codedScan {
	var out []codedScan
	for _, s := range e.Scans {
		code, err := strconv.Atoi(string(s.SRStatus))
		at, ok := ParseTime(s.Date)
		if err != nil || code <= 0 || !ok {
			continue
		}
		out = append(out, codedScan{code: code, at: at})
	}
	return out
}

func (e Event) newestScan() (codedScan, bool) {
	scans := e.codedScans()
	if len(scans) == 0 {
		return codedScan{}, false
	}
	newest := scans[0]
	for _, s := range scans[1:] {
		if s.at.After(newest.at) {
			newest = s
		}
	}
	return newest, true
}

// Key identifies the event for de-duplication. Shiprocket sends no event id,
// so the key hashes what a redelivery repeats exactly — the shipment, both
// status numberings, the event time and the return flag — under the account.
// The scan history is left out: a later send of the same event may carry more.
func (e Event) Key(account string) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{account, string(e.AWB), string(e.OrderID),
		strconv.FormatInt(int64(e.ShipmentStatusID), 10), strconv.FormatInt(int64(e.CurrentStatusID), 10),
		e.CurrentTimestamp, strconv.FormatBool(bool(e.IsReturn))}, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// Verify reports whether the x-api-key token is one of the account's secrets
// (constant time over every secret, see push.VerifyToken).
func Verify(token string, secrets []string) bool {
	return push.VerifyToken(strings.TrimSpace(token), secrets)
}

// currentTimestampLayout is how the provider's sample writes current_timestamp
// ("23 05 2023 11:43:52", day month year), in IST like every Shiprocket time.
const currentTimestampLayout = "02 01 2006 15:04:05"

// ParseTime reads a Shiprocket time: the day-first current_timestamp, or the
// "2023-05-19 11:59:16" of scan dates, without an offset as IST.
func ParseTime(s string) (time.Time, bool) {
	if t, ok := couriers.ParseIST(s); ok {
		return t, true
	}
	t, err := time.ParseInLocation(currentTimestampLayout, strings.TrimSpace(s), couriers.IST)
	return t, err == nil
}
