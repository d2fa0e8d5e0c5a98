// Package pushers stands in for the push tracking senders of the sandbox:
// Clickpost (a webhook_key header, per Clickpost's webhook docs), the
// fulfilment platform (its webhook docs: X-Event-Delivery and
// X-Event-Signature = hex sha256(body + secret)), Shiprocket (the panel's
// security token in x-api-key) and Delhivery (an agreed Authorization
// token). Like the real ones they retry until they get a 200, and the demo
// script sends duplicates and out-of-order deliveries.
// Development only.
package pushers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-resty/resty/v2"

	"orderflow/tracking/push/fulfilment"
)

// Delivery is one push the script sends.
type Delivery struct {
	Sender string // "clickpost", "fulfilment", "shiprocket" or "delhivery"
	ID     int    // X-Event-Delivery (fulfilment)
	Body   []byte
	Note   string // what it demonstrates, for the console
}

// Sender posts deliveries to orderflow, signed with the real schemes, and
// retries (like the real senders) until it gets 200 or attempts run out.
type Sender struct {
	BaseURL          string // orderflow's starter, e.g. http://127.0.0.1:8080
	Account          string
	ClickpostKey     string
	FulfilmentSecret string
	ShiprocketToken  string
	DelhiveryToken   string
	Attempts         int
	Client           *resty.Client
}

// Send posts d and returns the final status code and answer body.
func (s Sender) Send(ctx context.Context, d Delivery) (int, string, error) {
	req := s.Client.R().SetContext(ctx).SetBody(d.Body).SetHeader("Content-Type", "application/json")
	path := "/webhooks/" + d.Sender + "/" + s.Account
	switch d.Sender {
	case "clickpost":
		req.SetHeader("webhook_key", s.ClickpostKey)
	case "fulfilment":
		req.SetHeader("X-Event-Delivery", fmt.Sprint(d.ID)).
			SetHeader("X-Event-Signature", fulfilment.Sign(d.Body, s.FulfilmentSecret))
	case "shiprocket":
		req.SetHeader("x-api-key", s.ShiprocketToken)
	case "delhivery":
		req.SetHeader("Authorization", "Bearer "+s.DelhiveryToken)
	default:
		return 0, "", fmt.Errorf("unknown sender %q", d.Sender)
	}
	attempts := max(s.Attempts, 1)
	var lastErr error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return 0, "", ctx.Err()
			case <-time.After(time.Duration(i) * time.Second):
			}
		}
		resp, err := req.Post(s.BaseURL + path)
		if err != nil {
			lastErr = err
			continue
		}
		if resp.StatusCode() == 200 || (resp.StatusCode() >= 400 && resp.StatusCode() < 500) {
			return resp.StatusCode(), resp.String(), nil // 4xx: a bug of the script, not worth retrying
		}
		lastErr = fmt.Errorf("status %d", resp.StatusCode())
	}
	return 0, "", fmt.Errorf("%s delivery gave up after %d attempts: %w", d.Sender, attempts, lastErr)
}

// Order is what the script needs of a demo order.
type Order struct {
	ID  string
	AWB string
}

// DemoScript is the sandbox's push traffic for the demo orders (at least 4):
//   - order 2 through Clickpost: in transit, out for delivery, failed delivery,
//     RTO (sent twice), an older "in transit" delivered late, then RTO in transit
//     whose latest_status already says RTO delivered;
//   - order 3 through the fulfilment platform (order code = the order id):
//     DELIVERING, FAILED_DELIVERY, RETURN (the same delivery sent twice), an older
//     DELIVERING delivered late, RETURN_COMPLETED;
//   - order 4: a customer return, reported by Clickpost (is_rvp), Shiprocket
//     (a return shipment, is_return, reusing the RTO Initiated code) and
//     Delhivery (PU reverse pickup, then DL+DTO) — recorded, never RTO;
//   - unknown waybills (recorded as unmatched), Clickpost's test webhook, and
//     two SKU.CHANGE_STOCK events out of order (the newer stays).
//
// Orders 2 and 3 each reach the CRM exactly once; order 1 is left for `make rto`.
// Delivery ids and timestamps derive from start, so a second run is new traffic.
func DemoScript(orders []Order, start time.Time) []Delivery {
	t := func(h int) time.Time { return start.Add(time.Duration(h) * time.Hour) }
	o2, o3, o4 := orders[1], orders[2], orders[3]
	id := int(start.Unix() % 1_000_000_000 * 10)
	cp := func(note, awb string, code int, at time.Time, additional map[string]any) Delivery {
		return Delivery{Sender: "clickpost", Body: clickpostBody(awb, code, at, additional), Note: note}
	}
	ff := func(note string, delivery int, code, from, to string, at time.Time) Delivery {
		return Delivery{Sender: "fulfilment", ID: id + delivery, Body: orderChange(code, from, to, at), Note: note}
	}
	rto := cp("order 2: RTO (clickpost 12)", o2.AWB, 12, t(4), map[string]any{"notification_event_id": 6})
	ret := ff("order 3: RETURN", 4, o3.ID, "FAILED_DELIVERY", "RETURN", t(4))
	return []Delivery{
		cp("order 2: in transit", o2.AWB, 5, t(1), nil),
		cp("order 2: out for delivery", o2.AWB, 6, t(2), nil),
		cp("order 2: failed delivery (ndr)", o2.AWB, 9, t(3), nil),
		rto,
		withNote(rto, "order 2: the same RTO again (duplicate: no-op)"),
		cp("order 2: an older in-transit scan arriving late (no regression)", o2.AWB, 5, t(1).Add(30*time.Minute), nil),
		cp("order 2: RTO in transit, latest_status RTO delivered", o2.AWB, 21, t(5), map[string]any{
			"latest_status": map[string]any{"clickpost_status_code": 14, "timestamp": t(6).Format(time.RFC3339)}}),
		ff("order 3: DELIVERING", 1, o3.ID, "WAITING_DELIVERY", "DELIVERING", t(1)),
		ff("order 3: FAILED_DELIVERY", 2, o3.ID, "DELIVERING", "FAILED_DELIVERY", t(3)),
		ret,
		withNote(ret, "order 3: RETURN redelivered (same X-Event-Delivery: no-op)"),
		ff("order 3: an older DELIVERING arriving late (no regression)", 5, o3.ID, "WAITING_DELIVERY", "DELIVERING", t(2)),
		ff("order 3: RETURN_COMPLETED", 6, o3.ID, "RETURN", "RETURN_COMPLETED", t(7)),
		cp("order 4: customer return picked up (is_rvp: never RTO)", "RVP"+o4.AWB, 12, t(3), map[string]any{
			"is_rvp": true, "forward_awb": o4.AWB}),
		{Sender: "shiprocket", Note: "order 4: Shiprocket return shipment, code 9 reused (is_return: never RTO)",
			Body: shiprocketBody("SRRET"+o4.AWB, o4.ID, 9, t(3), 1)},
		{Sender: "delhivery", Note: "order 4: Delhivery reverse pickup in transit (PU: never RTO)",
			Body: delhiveryBody("DLRET"+o4.AWB, o4.ID, "PU", "In Transit", t(4))},
		{Sender: "delhivery", Note: "order 4: Delhivery DL+DTO, delivered back to origin (never RTO)",
			Body: delhiveryBody("DLRET"+o4.AWB, o4.ID, "DL", "DTO", t(6))},
		cp("an unknown waybill (recorded as unmatched)", "UNKNOWN-"+fmt.Sprint(id), 21, t(3), nil),
		{Sender: "shiprocket", Note: "an unknown Shiprocket AWB (recorded as unmatched)",
			Body: shiprocketBody("UNKNOWN-SR-"+fmt.Sprint(id), "", 18, t(3), 0)},
		{Sender: "clickpost", Note: "Clickpost's test webhook (recorded, no order changes)", Body: []byte(fmt.Sprintf(
			`{"test_url":"http://www.clickpost.in/","test_data":{"status":"Return Order Placed","remark":"Return Order Placed","waybill":"",`+
				`"location":"","timestamp":%q,"clickpost_status_code":101,"clickpost_status_description":"Return Order Placed","cp_id":1,`+
				`"additional":{"is_rvp":true,"forward_awb":"sample_forward_awb","forward_reference_number":"sample_forward_reference"}}}`,
			start.Format("2006-01-02T15:04:05.000")))},
		{Sender: "fulfilment", ID: id + 7, Note: "stock of ABC: 4 (newer)", Body: stockChange("ABC", 4, t(2))},
		{Sender: "fulfilment", ID: id + 8, Note: "stock of ABC: 9 (older, late: ignored)", Body: stockChange("ABC", 9, t(1))},
	}
}

func withNote(d Delivery, note string) Delivery { d.Note = note; return d }

func clickpostBody(awb string, code int, at time.Time, additional map[string]any) []byte {
	raw, _ := json.Marshal(map[string]any{
		"waybill": awb, "clickpost_status_code": code, "cp_id": 4, "status": "", "location": "VASAI, MUMBAI",
		"clickpost_status_description": fmt.Sprintf("code %d", code), "timestamp": at.Format(time.RFC3339), "remark": "",
		"additional": additional,
	})
	return raw
}

func orderChange(code, from, to string, at time.Time) []byte {
	raw, _ := json.Marshal(map[string]any{"event": fulfilment.EventOrderChangeStatus, "payload": map[string]any{
		"order":         map[string]any{"id": 5342, "code": code, "status": to, "updated_at": at.UTC().Format("2006-01-02T15:04:05.000000Z")},
		"merchant_code": "DEMO", "from_status": from, "to_status": to,
	}})
	return raw
}

func stockChange(product string, qty int, at time.Time) []byte {
	raw, _ := json.Marshal(map[string]any{"event": fulfilment.EventSKUChangeStock, "payload": map[string]any{
		"product_code": product, "merchant_code": "DEMO", "stocks": []any{map[string]any{
			"warehouse_code": "WH1", "stock": map[string]any{"id": 543, "product_id": 29, "sku_id": 189, "warehouse_id": 25,
				"warehouse_area_id": 61, "quantity": qty, "real_quantity": qty, "updated_at": at.UTC().Format(time.RFC3339)},
		}},
	}})
	return raw
}

// shiprocketBody is a Shiprocket tracking webhook body; current_status_id is
// the other numbering (20 for in transit), never mapped.
func shiprocketBody(awb, orderID string, code int, at time.Time, isReturn int) []byte {
	local := at.In(time.FixedZone("IST", 5*3600+1800))
	raw, _ := json.Marshal(map[string]any{
		"awb": awb, "courier_name": "Delhivery Surface", "current_status": "X", "current_status_id": 20,
		"shipment_status": "X", "shipment_status_id": code, "current_timestamp": local.Format("02 01 2006 15:04:05"),
		"order_id": orderID, "sr_order_id": 512208871, "etd": "", "is_return": isReturn, "channel_id": 4418021,
		"scans": []any{map[string]any{"date": local.Format("2006-01-02 15:04:05"), "status": "X-PPOM", "activity": "scan",
			"location": "Jaipur_Sitapura_H (Rajasthan)", "sr-status": fmt.Sprint(code), "sr-status-label": "X"}},
	})
	return raw
}

// delhiveryBody is a Delhivery push body (one scan), IST without an offset.
func delhiveryBody(awb, reference, statusType, status string, at time.Time) []byte {
	raw, _ := json.Marshal(map[string]any{"Shipment": map[string]any{
		"Status": map[string]any{"Status": status, "StatusType": statusType, "StatusLocation": "Mohali_Phase8_D (Punjab)",
			"StatusDateTime": at.In(time.FixedZone("IST", 5*3600+1800)).Format("2006-01-02T15:04:05.000"), "Instructions": "scan"},
		"NSLCode": "X-PPOM", "Sortcode": "IXC/MOH", "ReferenceNo": reference, "AWB": awb,
	}})
	return raw
}
