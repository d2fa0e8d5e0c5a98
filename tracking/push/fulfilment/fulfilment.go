// Package fulfilment is the fulfilment platform's push source: the
// X-Event-Signature check, the parser of ORDER.CHANGE_STATUS (its statuses
// mapped to the canonical set) and SKU.CHANGE_STOCK, as the platform's webhook
// docs define them, and Ingest, which turns an event into the PushIngest
// workflow's push.Event.
package fulfilment

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"orderflow/tracking"
)

// Source names the fulfilment platform in observations.
const Source = "fulfilment"

// Events.
const (
	EventOrderChangeStatus = "ORDER.CHANGE_STATUS"
	EventSKUChangeStock    = "SKU.CHANGE_STOCK"
)

// statusByCode maps every OrderStatus of the platform's webhook docs. RETURN and RETURN_COMPLETED
// are the platform's RTO (the parcel goes back to the merchant); a customer
// return is not reported through these statuses.
var statusByCode = map[string]string{
	"WAITING_INSPECTION": tracking.Pending,
	"WAITING_CONFIRM":    tracking.Pending,
	"WAITING_PROCESSING": tracking.Pending,
	"WAITING_PICKING":    tracking.Booked,
	"WAITING_PACKING":    tracking.Booked,
	"WAITING_DELIVERY":   tracking.Booked,
	"DELIVERING":         tracking.InTransit,
	"PART_DELIVERED":     tracking.Delivered,
	"DELIVERED":          tracking.Delivered,
	"FINISH":             tracking.Delivered,
	"CANCELED":           tracking.Cancelled,
	"RETURN":             tracking.RTO,
	"RETURN_COMPLETED":   tracking.RTODelivered,
	"FAILED_DELIVERY":    tracking.NDR,
}

// Canonical maps a status; known is false for one outside the table.
func Canonical(status string) (string, bool) {
	s, ok := statusByCode[status]
	return s, ok
}

// Sign is the platform's signature: lower-case hex sha256(body + secret). It is
// a plain hash, not an HMAC: that is the platform's scheme.
func Sign(body []byte, secret string) string {
	h := sha256.New()
	h.Write(body)
	h.Write([]byte(secret))
	return hex.EncodeToString(h.Sum(nil))
}

// Verify reports whether signature matches body under one of secrets (two are
// valid during a rotation). Each comparison takes constant time.
func Verify(body []byte, signature string, secrets []string) bool {
	got := []byte(strings.ToLower(strings.TrimSpace(signature)))
	if len(got) == 0 {
		return false
	}
	ok := 0
	for _, s := range secrets {
		// No early exit: the time taken does not tell which secret matched.
		ok |= constantTimeEqual(got, []byte(Sign(body, s)))
	}
	return ok == 1
}

// constantTimeEqual is subtle.ConstantTimeCompare; a variable so a test can
// check that every secret is compared.
var constantTimeEqual = subtle.ConstantTimeCompare

// Envelope is every webhook body.
type Envelope struct {
	Event   string          `json:"event"`
	Payload json.RawMessage `json:"payload"`
}

// OrderChange is ORDER.CHANGE_STATUS's payload (the fields orderflow uses).
type OrderChange struct {
	Order struct {
		ID        int64  `json:"id"`
		Code      string `json:"code"`
		Status    string `json:"status"`
		UpdatedAt string `json:"updated_at"`
	} `json:"order"`
	MerchantCode string `json:"merchant_code"`
	FromStatus   string `json:"from_status"`
	ToStatus     string `json:"to_status"`
}

// StockChange is SKU.CHANGE_STOCK's payload.
type StockChange struct {
	ProductCode  string `json:"product_code"`
	MerchantCode string `json:"merchant_code"`
	Stocks       []struct {
		Stock struct {
			ID              int64  `json:"id"`
			ProductID       int64  `json:"product_id"`
			SKUID           int64  `json:"sku_id"`
			WarehouseID     int64  `json:"warehouse_id"`
			WarehouseAreaID int64  `json:"warehouse_area_id"`
			Quantity        int64  `json:"quantity"`
			RealQuantity    int64  `json:"real_quantity"`
			UpdatedAt       string `json:"updated_at"`
		} `json:"stock"`
		WarehouseCode string `json:"warehouse_code"`
	} `json:"stocks"`
}

// ErrInvalid wraps every reason a body is refused.
var ErrInvalid = errors.New("invalid fulfilment event")

// Event is a parsed, checked webhook: exactly one of Order and Stock is set for known events.
type Event struct {
	Name  string
	Order *OrderChange
	Stock *StockChange
}

// Parse decodes and checks a body.
func Parse(body []byte) (Event, error) {
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Event{}, fmt.Errorf("%w: not valid JSON", ErrInvalid)
	}
	if env.Event == "" {
		return Event{}, fmt.Errorf("%w: event is required", ErrInvalid)
	}
	ev := Event{Name: env.Event}
	switch env.Event {
	case EventOrderChangeStatus:
		var oc OrderChange
		if err := json.Unmarshal(env.Payload, &oc); err != nil {
			return Event{}, fmt.Errorf("%w: payload is not an order change", ErrInvalid)
		}
		if oc.Order.Code == "" || oc.ToStatus == "" {
			return Event{}, fmt.Errorf("%w: payload.order.code and payload.to_status are required", ErrInvalid)
		}
		if _, err := ParseTime(oc.Order.UpdatedAt); err != nil {
			return Event{}, fmt.Errorf("%w: payload.order.updated_at: %v", ErrInvalid, err)
		}
		ev.Order = &oc
	case EventSKUChangeStock:
		var sc StockChange
		if err := json.Unmarshal(env.Payload, &sc); err != nil {
			return Event{}, fmt.Errorf("%w: payload is not a stock change", ErrInvalid)
		}
		if sc.ProductCode == "" || len(sc.Stocks) == 0 {
			return Event{}, fmt.Errorf("%w: payload.product_code and payload.stocks are required", ErrInvalid)
		}
		for _, s := range sc.Stocks {
			if s.WarehouseCode == "" {
				return Event{}, fmt.Errorf("%w: payload.stocks[].warehouse_code is required", ErrInvalid)
			}
			if _, err := ParseTime(s.Stock.UpdatedAt); err != nil {
				return Event{}, fmt.Errorf("%w: payload.stocks[].stock.updated_at: %v", ErrInvalid, err)
			}
		}
		ev.Stock = &sc
	}
	return ev, nil
}

// StockLevel is one stock row of a SKU.CHANGE_STOCK event, keyed by where it
// is: the platform reports one row per warehouse area (its docs' example has
// two areas of warehouse XYZ), so the area is part of the key or one row would
// overwrite the other.
type StockLevel struct {
	MerchantCode    string    `json:"merchant_code"`
	ProductCode     string    `json:"product_code"`
	WarehouseCode   string    `json:"warehouse_code"`
	WarehouseID     int64     `json:"warehouse_id"`
	WarehouseAreaID int64     `json:"warehouse_area_id"`
	SKUID           int64     `json:"sku_id"`
	StockID         int64     `json:"stock_id"`
	Quantity        int64     `json:"quantity"`
	RealQuantity    int64     `json:"real_quantity"`
	UpdatedAt       time.Time `json:"updated_at"` // the row's own time: the newer one wins
}

// Levels flattens a stock change into its rows. Parse has checked the times.
func (sc StockChange) Levels() []StockLevel {
	out := make([]StockLevel, 0, len(sc.Stocks))
	for _, s := range sc.Stocks {
		at, _ := ParseTime(s.Stock.UpdatedAt)
		out = append(out, StockLevel{
			MerchantCode: sc.MerchantCode, ProductCode: sc.ProductCode, WarehouseCode: s.WarehouseCode,
			WarehouseID: s.Stock.WarehouseID, WarehouseAreaID: s.Stock.WarehouseAreaID, SKUID: s.Stock.SKUID,
			StockID: s.Stock.ID, Quantity: s.Stock.Quantity, RealQuantity: s.Stock.RealQuantity, UpdatedAt: at.UTC(),
		})
	}
	return out
}

// ParseDelivery checks the X-Event-Delivery header: the platform's delivery
// id, an integer. It names the delivery, so a redelivery is recognised by it.
func ParseDelivery(header string) (string, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(header), 10, 63)
	if err != nil {
		return "", fmt.Errorf("%w: X-Event-Delivery must be an integer delivery id", ErrInvalid)
	}
	return strconv.FormatUint(n, 10), nil
}

// ParseTime reads the platform's timestamps ("2022-06-07T09:55:58.000000Z").
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 timestamp", s)
	}
	return t, nil
}
