//go:build integration

package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"

	"orderflow/store"
	"orderflow/tracking"
	"orderflow/workflows"
)

// ist is the zone Shiprocket and Delhivery write their times in, without an offset.
var ist = time.FixedZone("IST", 5*3600+1800)

// courierSource is one courier push webhook as a sender uses it.
type courierSource struct {
	name   string
	header func(token string) map[string]string
	token  string
}

var (
	shiprocketSource = courierSource{"shiprocket", func(tok string) map[string]string { return map[string]string{"x-api-key": tok} }, shiprocketPushToken}
	delhiverySource  = courierSource{"delhivery", func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }, delhiveryPushToken}
	courierSources   = []courierSource{shiprocketSource, delhiverySource}
)

// tryCourierPush pushes a body to /webhooks/<source>/acme with acme's token;
// it returns the event id and whether it was a duplicate.
func (s *stack) tryCourierPush(src courierSource, body []byte) (string, bool, error) {
	code, out, err := s.tryRaw("POST", "/webhooks/"+src.name+"/acme", src.header(src.token), body)
	if err != nil {
		return "", false, err
	}
	if code != 200 {
		return "", false, fmt.Errorf("%s push: %d %v", src.name, code, out)
	}
	id, err := lookup[string](out, "event_id")
	if err != nil {
		return "", false, err
	}
	dup, err := lookup[bool](out, "duplicate")
	return id, dup, err
}

func (s *stack) courierPush(src courierSource, body []byte) (string, bool) {
	s.t.Helper()
	id, dup, err := s.tryCourierPush(src, body)
	if err != nil {
		s.t.Fatal(err)
	}
	return id, dup
}

// courierEvent is one shipment status, written as each source writes it.
type courierEvent struct {
	awb, orderRef string
	at            time.Time
	// Shiprocket: shipment_status_id, current_status_id (the other numbering), is_return.
	srCode, srCurrent int
	srReturn          any
	// Delhivery: StatusType, Status, NSL code.
	dlType, dlStatus, dlCode string
}

// body writes the event in the source's documented shape (see docs/couriers.md).
func (e courierEvent) body(source string) []byte {
	var v any
	switch source {
	case "shiprocket":
		ret := e.srReturn
		if ret == nil {
			ret = 0
		}
		v = map[string]any{
			"awb": e.awb, "courier_name": "Delhivery Surface", "current_status": "X", "current_status_id": e.srCurrent,
			"shipment_status": "X", "shipment_status_id": e.srCode, "current_timestamp": e.at.In(ist).Format("02 01 2006 15:04:05"),
			"order_id": e.orderRef, "sr_order_id": 512208871, "etd": "", "is_return": ret, "channel_id": 4418021,
			"scans": []map[string]any{{"date": e.at.In(ist).Format("2006-01-02 15:04:05"), "status": "X-ILL1F",
				"activity": "In Transit", "location": "RTO/CHD Chandigarh_Hub (Chandigarh)", "sr-status": fmt.Sprint(e.srCode), "sr-status-label": "X"}},
		}
	default:
		v = map[string]any{"Shipment": map[string]any{
			"Status": map[string]any{"Status": e.dlStatus, "StatusType": e.dlType, "StatusDateTime": e.at.In(ist).Format("2006-01-02T15:04:05.000"),
				"StatusLocation": "Mohali_Phase8_D (Punjab)", "Instructions": "scan"},
			"PickUpDate": "2026-11-19T10:02:11.207", "NSLCode": e.dlCode, "Sortcode": "IXC/MOH", "ReferenceNo": e.orderRef, "AWB": e.awb,
		}}
	}
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps of plain values always marshal
	}
	return raw
}

// Each source's forward events for a shipment: in transit, RTO started, RTO in transit, RTO delivered.
func inTransit(awb string, at time.Time) courierEvent {
	return courierEvent{awb: awb, at: at, srCode: 18, srCurrent: 20, dlType: "UD", dlStatus: "In Transit", dlCode: "X-ILL1F"}
}
func rtoStarted(awb string, at time.Time) courierEvent {
	return courierEvent{awb: awb, at: at, srCode: 9, srCurrent: 15, dlType: "RT", dlStatus: "In Transit", dlCode: "RT-101"}
}
func rtoDelivered(awb string, at time.Time) courierEvent {
	return courierEvent{awb: awb, at: at, srCode: 10, srCurrent: 16, dlType: "DL", dlStatus: "RTO", dlCode: "RT-110"}
}

// The RTO status each source reports for rtoStarted.
func rtoStatus(source string) string {
	if source == "shiprocket" {
		return tracking.RTO // 9 RTO Initiated
	}
	return tracking.RTOInTransit // RT In Transit
}

// Bad input to either courier webhook answers its code and leaves the
// database and Temporal untouched: wrong, missing or another account's token
// and an unknown account (401), malformed bodies (400), oversized ones (413).
func TestCourierPushBadInputChangesNothing(t *testing.T) {
	s := newStack(t)
	order := s.insertOrder("9876517001", 10)
	awb := s.awbOf(order)
	orderBefore := s.order(order)
	countsBefore := s.counts()
	s.mustCall(200, "PUT", "/v1/push-credentials/shiprocket/beta", map[string]any{"secrets": []string{rotatedKeyNew}})
	s.mustCall(200, "PUT", "/v1/push-credentials/delhivery/beta", map[string]any{"secrets": []string{rotatedKeyNew}})

	huge := append(append([]byte(`{"awb":"`), bytes.Repeat([]byte("x"), 1<<20)...), []byte(`"}`)...)
	malformed := map[string]map[string]string{
		"shiprocket": {
			"not JSON":                     `{"awb":`,
			"an array":                     `[{"awb":"` + awb + `","shipment_status_id":9,"current_timestamp":"20 11 2026 14:30:00"}]`,
			"no shipment":                  `{"shipment_status_id":9,"current_timestamp":"20 11 2026 14:30:00"}`,
			"only current_status_id":       `{"awb":"` + awb + `","current_status_id":9,"current_timestamp":"20 11 2026 14:30:00"}`,
			"unreadable current_timestamp": `{"awb":"` + awb + `","shipment_status_id":9,"current_timestamp":"someday"}`,
			"is_return as a word":          `{"awb":"` + awb + `","shipment_status_id":9,"current_timestamp":"20 11 2026 14:30:00","is_return":"maybe"}`,
			"Python's True":                `{"awb":"` + awb + `","shipment_status_id":9,"current_timestamp":"20 11 2026 14:30:00","is_return":True}`,
		},
		"delhivery": {
			"not JSON":           `{"Shipment":`,
			"no Shipment":        `{"AWB":"` + awb + `"}`,
			"the flat variant":   `{"waybill":"` + awb + `","status":"RTO","Status DateTime":"2026-11-20 14:30:00","Scan Type":"RT"}`,
			"no StatusType":      `{"Shipment":{"AWB":"` + awb + `","Status":{"Status":"In Transit","StatusDateTime":"2026-11-20T14:30:00"}}}`,
			"unreadable time":    `{"Shipment":{"AWB":"` + awb + `","Status":{"Status":"In Transit","StatusType":"RT","StatusDateTime":"someday"}}}`,
			"Status as a string": `{"Shipment":{"AWB":"` + awb + `","Status":"In Transit"}}`,
		},
	}
	type badCase struct {
		name, method, path string
		headers            map[string]string
		body               []byte
		want               int
	}
	for _, src := range courierSources {
		good := rtoStarted(awb, base).body(src.name)
		acme := "/webhooks/" + src.name + "/acme"
		otherSourcesToken := map[string]string{"shiprocket": delhiveryPushToken, "delhivery": shiprocketPushToken}[src.name]
		cases := []badCase{
			{"no token", "POST", acme, nil, good, 401},
			{"wrong token", "POST", acme, src.header(src.token + "x"), good, 401},
			{"the other courier's token", "POST", acme, src.header(otherSourcesToken), good, 401},
			{"account beta's token on acme", "POST", acme, src.header(rotatedKeyNew), good, 401},
			{"acme's token on account beta", "POST", "/webhooks/" + src.name + "/beta", src.header(src.token), good, 401},
			{"unknown account", "POST", "/webhooks/" + src.name + "/nobody", src.header(src.token), good, 401},
			{"bad account name", "POST", "/webhooks/" + src.name + "/No%20Body", src.header(src.token), good, 401},
			{"over 1 MiB", "POST", acme, src.header(src.token), huge, 413},
			{"GET", "GET", acme, src.header(src.token), nil, 405},
		}
		for name, body := range malformed[src.name] {
			cases = append(cases, badCase{name, "POST", acme, src.header(src.token), []byte(body), 400})
		}
		for _, tc := range cases {
			if code, out := s.raw(tc.method, tc.path, tc.headers, tc.body); code != tc.want {
				t.Errorf("%s: %s: got %d %v, want %d", src.name, tc.name, code, out, tc.want)
			}
		}
	}

	if after := s.order(order); !reflect.DeepEqual(after, orderBefore) {
		t.Errorf("order changed: %v → %v", orderBefore, after)
	}
	for c, n := range s.counts() {
		if countsBefore[c] != n {
			t.Errorf("%s changed from %d to %d", c, countsBefore[c], n)
		}
	}
	for _, c := range []string{store.PushEventsCollection, store.StockLevelsCollection} {
		if n := s.count(c); n != 0 {
			t.Errorf("%s has %d documents after rejected pushes", c, n)
		}
	}
	// Temporal: no workflow started. A good push afterwards is the marker that
	// visibility has caught up: once it is listed, it must be the only one.
	marker, _ := s.courierPush(shiprocketSource, inTransit("MARKER-AWB", time.Now()).body("shiprocket"))
	var listed []string
	eventually(t, 30*time.Second, "the marker push to be listed", func() bool {
		resp, err := s.temporal.ListWorkflow(context.Background(), listRequest(s.cfg.Temporal.TaskQueue))
		if err != nil {
			return false
		}
		listed = listed[:0]
		for _, e := range resp.Executions {
			listed = append(listed, e.Execution.WorkflowId)
		}
		return strings.Contains(strings.Join(listed, ","), marker)
	})
	if len(listed) != 1 {
		t.Errorf("workflows on the task queue: %v; want only the marker %s", listed, marker)
	}
}

// Duplicates and out-of-order deliveries: the RTO push ten times (one
// event, nine duplicates), an older in-transit push after it, then RTO
// delivered and the RTO push once more — one RTOCancel, one CRM POST, and
// the order never moves back to in transit.
func TestCourierPushDuplicatesAndOutOfOrderGiveOneRTOCancel(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.configureRTOWebhook()
	for _, src := range courierSources {
		order := s.insertOrder("98765171"+map[string]string{"shiprocket": "01", "delhivery": "02"}[src.name], 600)
		awb := s.awbOf(order)
		rto := rtoStarted(awb, base.Add(2*time.Hour)).body(src.name)
		var first string
		for i := 0; i < 10; i++ {
			id, dup := s.courierPush(src, rto)
			if i == 0 {
				first = id
			}
			if id != first || dup != (i > 0) {
				t.Fatalf("%s delivery %d: id %s duplicate %v, want %s duplicate %v", src.name, i, id, dup, first, i > 0)
			}
		}
		res := s.waitPush(first)
		if res.Outcome != store.PushOutcomeApplied || res.OrderID != order || len(res.RTOCancelsStarted) != 1 {
			t.Fatalf("%s RTO push: %+v", src.name, res)
		}
		if i := strings.Index(first, ":acme:"); i < 0 || !strings.HasPrefix(first, "push:"+src.name) {
			t.Errorf("%s event id %s is not derived from the source, account and event", src.name, first)
		}
		older := s.waitPush(first1(s.courierPush(src, inTransit(awb, base).body(src.name))))
		if st := s.order(order)["tracking_status"]; st != rtoStatus(src.name) || len(older.RTOCancelsStarted) != 0 {
			t.Errorf("%s after an older in-transit push: status %v (want %s), %+v", src.name, st, rtoStatus(src.name), older)
		}
		later := s.waitPush(first1(s.courierPush(src, rtoDelivered(awb, base.Add(5*time.Hour)).body(src.name))))
		again, dup := s.courierPush(src, rto)
		if again != first || !dup || len(later.RTOCancelsStarted) != 0 {
			t.Errorf("%s: later RTO delivered %+v; RTO again %s duplicate %v", src.name, later, again, dup)
		}
		if st := s.order(order)["tracking_status"]; st != tracking.RTODelivered {
			t.Errorf("%s after RTO delivered: status %v", src.name, st)
		}
		s.waitWorkflow(workflows.RTOCancelWorkflowID(order), nil)
		s.findableRTOCancel(order, awb, "delhivery") // the order's own courier field
	}
	if n := len(s.crm.Received()); n != len(courierSources) {
		t.Errorf("CRM received %d POSTs, want one per order (%d)", n, len(courierSources))
	}
}

func first1(id string, _ bool) string { return id }

// A courier push and a poll-path status update reporting RTO for the same
// order at the same moment give one CRM call (three orders per source).
func TestCourierPushAndPollRacingGiveOneCRMCall(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.configureRTOWebhook()
	orders := 0
	for _, src := range courierSources {
		for i := 0; i < 3; i++ {
			orders++
			order := s.insertOrder(fmt.Sprintf("98765172%02d", orders), 100)
			awb := s.awbOf(order)
			var pushID, pollID string
			var pushErr, pollErr error
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				pushID, _, pushErr = s.tryCourierPush(src, rtoStarted(awb, base).body(src.name))
			}()
			go func() { defer wg.Done(); pollID, pollErr = s.tryReport(order, tracking.RTO, base.Add(time.Second)) }()
			wg.Wait()
			if err := errors.Join(pushErr, pollErr); err != nil {
				t.Fatalf("%s order %d: %v", src.name, i, err)
			}
			var upd workflows.StatusUpdateResult
			s.waitWorkflow(pollID, &upd)
			res := s.waitPush(pushID)
			if n := len(upd.RTOCancelsStarted) + len(res.RTOCancelsStarted); n != 1 {
				t.Errorf("%s order %d: %d RTOCancels started by push+poll, want 1 (push %+v, poll %+v)", src.name, i, n, res, upd)
			}
			s.waitWorkflow(workflows.RTOCancelWorkflowID(order), nil)
		}
	}
	if n := len(s.crm.Received()); n != orders {
		t.Errorf("CRM received %d POSTs for %d orders, want %d", n, orders, orders)
	}
}

// Customer returns fire nothing: a Shiprocket return shipment (is_return,
// as a number or a string) reusing the RTO Initiated and Delivered codes, and
// Delhivery's reverse pickup (PP, PU) and DL+DTO, are recorded as returns of
// the order and set it to returned, never RTO; a later forward push does not
// undo it. An in-transit push whose current_status_id is 9 (RTO Initiated in
// the other numbering) is not an RTO either. A push for an
// unknown shipment is answered 200 and recorded as unmatched.
func TestCourierCustomerReturnPushesFireNothing(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.configureRTOWebhook()
	order := s.insertOrder("9876517301", 900)
	awb := s.awbOf(order)
	returns := map[string][]courierEvent{
		"shiprocket": {
			{awb: "RET" + awb, orderRef: order, at: base, srCode: 9, srCurrent: 15, srReturn: 1},
			{awb: "RET" + awb, orderRef: order, at: base.Add(time.Hour), srCode: 7, srCurrent: 7, srReturn: "1"},
		},
		"delhivery": {
			{awb: "RET" + awb, orderRef: order, at: base, dlType: "PP", dlStatus: "Scheduled", dlCode: "X-ASP"},
			{awb: "RET" + awb, orderRef: order, at: base.Add(time.Hour), dlType: "PU", dlStatus: "In Transit", dlCode: "X-PPOM"},
			{awb: "RET" + awb, orderRef: order, at: base.Add(2 * time.Hour), dlType: "DL", dlStatus: "DTO", dlCode: "RD-AC"},
		},
	}
	recorded := 0
	for _, src := range courierSources {
		for _, ev := range returns[src.name] {
			recorded++
			res := s.waitPush(first1(s.courierPush(src, ev.body(src.name))))
			if res.Outcome != store.PushOutcomeCustomerReturn || res.OrderID != order || len(res.RTOCancelsStarted) != 0 {
				t.Errorf("%s customer return %+v: %+v", src.name, ev, res)
			}
		}
	}
	trap := inTransit(awb, base.Add(3*time.Hour))
	trap.srCurrent = 9
	res := s.waitPush(first1(s.courierPush(shiprocketSource, trap.body("shiprocket"))))
	if res.Outcome != store.PushOutcomeApplied || len(res.RTOCancelsStarted) != 0 {
		t.Errorf("in transit with current_status_id 9: %+v", res)
	}
	if st := s.order(order)["tracking_status"]; st != tracking.Returned {
		t.Errorf("order status %v, want returned", st)
	}
	_, err := s.temporal.DescribeWorkflowExecution(context.Background(), workflows.RTOCancelWorkflowID(order), "")
	var notFound *serviceerror.NotFound
	if !errors.As(err, &notFound) {
		t.Errorf("an RTOCancel exists for a customer return (err %v)", err)
	}
	if n := len(s.crm.Received()); n != 0 {
		t.Errorf("CRM received %d POSTs, want 0", n)
	}
	if got := s.items("/v1/push-events?outcome=customer_return"); len(got) != recorded {
		t.Errorf("%d returns recorded, want %d", len(got), recorded)
	}

	for _, src := range courierSources {
		res := s.waitPush(first1(s.courierPush(src, rtoStarted("NO-SUCH-AWB-"+src.name, base).body(src.name))))
		if res.Outcome != store.PushOutcomeUnmatched || len(res.RTOCancelsStarted) != 0 {
			t.Errorf("%s unknown shipment: %+v", src.name, res)
		}
	}
	if got := s.items("/v1/push-events?outcome=unmatched"); len(got) != len(courierSources) {
		t.Errorf("unmatched %v, want one per source", got)
	}
}
