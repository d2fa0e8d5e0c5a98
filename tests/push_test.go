//go:build integration

package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"orderflow/ingress"
	"orderflow/observability"
	"orderflow/store"
	"orderflow/tracking"
	"orderflow/tracking/push/fulfilment"
	"orderflow/workflows"
)

// Keys of account "beta", set and rotated through the configuration API.
const (
	rotatedKeyOld = "cp-beta-DISTINCT-old-91c2d7"
	rotatedKeyNew = "cp-beta-DISTINCT-new-4b8a0e"
)

// clickpost pushes a Clickpost body with account acme's webhook_key and returns the event id.
func (s *stack) clickpost(body []byte) (string, bool) {
	s.t.Helper()
	id, dup, err := s.tryClickpost(body)
	if err != nil {
		s.t.Fatal(err)
	}
	return id, dup
}

// tryClickpost is clickpost returning its error, for goroutines other than the test's.
func (s *stack) tryClickpost(body []byte) (string, bool, error) {
	code, out, err := s.tryRaw("POST", "/webhooks/clickpost", map[string]string{"webhook_key": clickpostKey}, body)
	if err != nil {
		return "", false, err
	}
	if code != 200 {
		return "", false, fmt.Errorf("clickpost push: %d %v", code, out)
	}
	id, err := lookup[string](out, "event_id")
	if err != nil {
		return "", false, err
	}
	dup, err := lookup[bool](out, "duplicate")
	return id, dup, err
}

// fulfilmentPush pushes a signed fulfilment body as delivery n and returns the event id.
func (s *stack) fulfilmentPush(delivery int, body []byte) string {
	s.t.Helper()
	code, out := s.raw("POST", "/webhooks/fulfilment/acme", map[string]string{
		"X-Event-Delivery": fmt.Sprint(delivery), "X-Event-Signature": fulfilment.Sign(body, fulfilmentSecret),
	}, body)
	if code != 200 {
		s.t.Fatalf("fulfilment push: %d %v", code, out)
	}
	return get[string](s.t, out, "event_id")
}

func (s *stack) waitPush(id string) workflows.PushIngestResult {
	s.t.Helper()
	var res workflows.PushIngestResult
	s.waitWorkflow(id, &res)
	return res
}

// cpBody is a Clickpost webhook body (the shape of Clickpost's webhook docs, valid JSON).
func cpBody(waybill string, code int, at time.Time, additional map[string]any) []byte {
	ev := map[string]any{
		"waybill": waybill, "clickpost_status_code": code, "cp_id": 4, "clickpost_status_description": fmt.Sprintf("code %d", code),
		"status": "X", "location": "VASAI, MUMBAI", "timestamp": at.Format(time.RFC3339), "remark": "",
		"additional": additional,
	}
	raw, _ := json.Marshal(ev)
	return raw
}

// ffOrderBody is an ORDER.CHANGE_STATUS body (the fulfilment platform's documented shape, trimmed).
func ffOrderBody(code, from, to string, at time.Time) []byte {
	return []byte(fmt.Sprintf(`{"event":"ORDER.CHANGE_STATUS","payload":{"order":{"id":5342,"code":%q,"status":%q,`+
		`"total_amount":198,"updated_at":%q},"merchant_code":"XYZ","from_status":%q,"to_status":%q}}`,
		code, to, at.Format("2006-01-02T15:04:05.000000Z"), from, to))
}

func (s *stack) order(id string) bson.M {
	s.t.Helper()
	oid, _ := bson.ObjectIDFromHex(id)
	var doc bson.M
	if err := s.store.Database().Collection(store.OrdersCollection).FindOne(context.Background(), bson.M{"_id": oid}).Decode(&doc); err != nil {
		s.t.Fatal(err)
	}
	return doc
}

func (s *stack) awbOf(orderID string) string {
	s.t.Helper()
	return as[string](s.t, s.order(orderID)["awb"], "order "+orderID+" awb")
}

// findableRTOCancel waits until the order's RTOCancel is listed by the query the UI would use.
func (s *stack) findableRTOCancel(orderID, awb, courier string) {
	s.t.Helper()
	q := fmt.Sprintf("TaskQueue = %q AND WorkflowType = 'RTOCancel' AND OrderID = %q AND Courier = %q",
		s.cfg.Temporal.TaskQueue, orderID, courier)
	if awb != "" {
		q += fmt.Sprintf(" AND AWB = %q", awb)
	}
	eventually(s.t, 30*time.Second, "the RTOCancel to be findable by "+q, func() bool {
		resp, err := s.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: q})
		return err == nil && len(resp.Executions) == 1 && resp.Executions[0].Execution.WorkflowId == workflows.RTOCancelWorkflowID(orderID)
	})
}

// (a) A Clickpost RTO push gives exactly one CRM POST. The push is accepted
// while no worker runs (durable on 2xx) and acted on once one starts; the
// push-driven RTOCancel is findable by OrderID, AWB, Courier like a poll-driven one.
func TestClickpostRTOPushGivesOneCRMPost(t *testing.T) {
	s := newStack(t)
	s.configureRTOWebhook()
	order := s.insertOrder("9876511001", 1299)
	awb := s.awbOf(order)

	id, dup := s.clickpost(cpBody(awb, 21, base, map[string]any{"notification_event_id": 6, "is_rvp": nil}))
	if dup {
		t.Fatal("first delivery reported as duplicate")
	}
	s.startWorker()
	res := s.waitPush(id)
	if res.Outcome != store.PushOutcomeApplied || res.OrderID != order || len(res.RTOCancelsStarted) != 1 {
		t.Fatalf("ingest result %+v", res)
	}
	s.recordHistory(id, "push_ingest_history.json")
	s.waitWorkflow(workflows.RTOCancelWorkflowID(order), nil)
	got := s.crm.Received()
	if len(got) != 1 || got[0].Body["order_id"] != order || got[0].Body["phone_number"] != "9876511001" {
		t.Fatalf("CRM received %v, want one POST for %s", got, order)
	}
	if doc := s.order(order); doc["tracking_status"] != tracking.RTOInTransit || doc["tracking_source"] != "clickpost" {
		t.Errorf("order after push: %v", doc)
	}
	s.findableRTOCancel(order, awb, "delhivery")
	events := s.items("/v1/push-events?outcome=applied")
	if len(events) != 1 || events[0]["order_id"] != order {
		t.Errorf("push events %v", events)
	}
}

// (a) The same through the fulfilment platform: RETURN on an order found by its
// code, which has no awb or courier on record: the RTOCancel is still findable
// (AWB empty, Courier = the source).
func TestFulfilmentReturnPushGivesOneCRMPost(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.configureRTOWebhook()
	ctx := context.Background()
	mp := bson.NewObjectID()
	_, _ = s.store.Database().Collection(store.MarketplacesCollection).InsertOne(ctx, bson.M{"_id": mp, "name": "WooCommerce"})
	oid := bson.NewObjectID()
	if _, err := s.store.Database().Collection(store.OrdersCollection).InsertOne(ctx, bson.M{
		"_id": oid, "marketplace": mp, "customer": bson.M{"phone": "9876511002"}, "total_amt": 198.0, "fulfilment_code": "dh07060099",
	}); err != nil {
		t.Fatal(err)
	}
	order := oid.Hex()

	s.waitPush(s.fulfilmentPush(101, ffOrderBody("dh07060099", "WAITING_DELIVERY", "DELIVERING", base)))
	res := s.waitPush(s.fulfilmentPush(102, ffOrderBody("dh07060099", "DELIVERING", "RETURN", base.Add(time.Hour))))
	if res.Outcome != store.PushOutcomeApplied || res.OrderID != order || len(res.RTOCancelsStarted) != 1 {
		t.Fatalf("ingest result %+v", res)
	}
	s.waitWorkflow(workflows.RTOCancelWorkflowID(order), nil)
	if n := len(s.crm.Received()); n != 1 {
		t.Fatalf("CRM received %d POSTs, want 1", n)
	}
	// RETURN_COMPLETED later: still one.
	s.waitPush(s.fulfilmentPush(103, ffOrderBody("dh07060099", "RETURN", "RETURN_COMPLETED", base.Add(2*time.Hour))))
	if n := len(s.crm.Received()); n != 1 || s.order(order)["tracking_status"] != tracking.RTODelivered {
		t.Errorf("after RETURN_COMPLETED: %d POSTs, status %v", n, s.order(order)["tracking_status"])
	}
	s.findableRTOCancel(order, "", "fulfilment")
}

// SKU.CHANGE_STOCK keeps the latest stock per product and warehouse area: an
// older event delivered late changes nothing.
func TestFulfilmentStockKeepsLatestLevel(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	stock := func(qty int, at time.Time) []byte {
		return []byte(fmt.Sprintf(`{"event":"SKU.CHANGE_STOCK","payload":{"product_code":"ABC","merchant_code":"XYZ","stocks":[`+
			`{"stock":{"id":543,"product_id":29,"sku_id":189,"warehouse_id":25,"warehouse_area_id":61,"quantity":%d,"real_quantity":%d,"updated_at":%q},"warehouse_code":"XYZ"}]}}`,
			qty, qty, at.Format(time.RFC3339)))
	}
	s.waitPush(s.fulfilmentPush(201, stock(7, base.Add(time.Hour))))
	s.waitPush(s.fulfilmentPush(202, stock(3, base))) // older, arrives late
	items := s.items("/v1/stock-levels?product_code=ABC")
	if len(items) != 1 || items[0]["quantity"] != 7.0 {
		t.Fatalf("stock levels %v, want one level with quantity 7", items)
	}
	s.waitPush(s.fulfilmentPush(203, stock(2, base.Add(2*time.Hour))))
	items = s.items("/v1/stock-levels?product_code=ABC")
	if len(items) != 1 || items[0]["quantity"] != 2.0 {
		t.Fatalf("stock levels %v, want quantity 2 after a newer event", items)
	}
}

// (b) The same push ten times, then concurrent pushes (the same one and
// distinct RTO-family events), still give one CRM POST.
func TestRepeatedAndConcurrentPushesGiveOnePost(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.configureRTOWebhook()
	order := s.insertOrder("9876511003", 500)
	awb := s.awbOf(order)
	body := cpBody(awb, 12, base, map[string]any{"notification_event_id": 6})

	var first string
	for i := 0; i < 10; i++ {
		id, dup := s.clickpost(body)
		if i == 0 {
			first = id
		}
		if id != first || dup != (i > 0) {
			t.Fatalf("delivery %d: id %s duplicate %v", i, id, dup)
		}
	}
	s.waitPush(first)

	var wg sync.WaitGroup
	ids := make([]string, 20)
	errs := make([]error, len(ids))
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			b := body // half repeat the first event, half are distinct RTO-family events
			if i%2 == 1 {
				b = cpBody(awb, []int{13, 15, 21, 26, 27}[i%5], base.Add(time.Duration(i)*time.Minute), nil)
			}
			ids[i], _, errs[i] = s.tryClickpost(b)
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	// Each distinct event once (a repeat answers with the first's id): only
	// the first push may have started the order's RTOCancel.
	started := 0
	for _, id := range slices.Compact(slices.Sorted(slices.Values(append(ids, first)))) {
		started += len(s.waitPush(id).RTOCancelsStarted)
	}
	s.waitWorkflow(workflows.RTOCancelWorkflowID(order), nil)
	if started != 1 {
		t.Errorf("%d pushes started an RTOCancel, want 1", started)
	}
	if n := len(s.crm.Received()); n != 1 {
		t.Errorf("CRM received %d POSTs, want 1", n)
	}
	resp, err := s.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("TaskQueue = %q AND WorkflowId = %q", s.cfg.Temporal.TaskQueue, first)})
	if err != nil || len(resp.Executions) != 1 {
		t.Errorf("the repeated event ran %d times (err %v), want once", len(resp.GetExecutions()), err)
	}
}

// (c) A push and a poll-path status update reporting RTO for the same order at
// the same time give one POST (five orders, each raced once).
func TestPushAndPollRacingOnRTOGiveOnePost(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.configureRTOWebhook()
	for i := 0; i < 5; i++ {
		order := s.insertOrder(fmt.Sprintf("98765120%02d", i), 100)
		awb := s.awbOf(order)
		var pushID, pollID string
		var pushErr, pollErr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); pushID, _, pushErr = s.tryClickpost(cpBody(awb, 12, base, nil)) }()
		go func() { defer wg.Done(); pollID, pollErr = s.tryReport(order, tracking.RTO, base.Add(time.Second)) }()
		wg.Wait()
		if err := errors.Join(pushErr, pollErr); err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
		var upd workflows.StatusUpdateResult
		s.waitWorkflow(pollID, &upd)
		res := s.waitPush(pushID)
		if n := len(upd.RTOCancelsStarted) + len(res.RTOCancelsStarted); n != 1 {
			t.Errorf("order %d: %d RTOCancels started by push+poll, want 1 (push %+v, poll %+v)", i, n, res, upd)
		}
		s.waitWorkflow(workflows.RTOCancelWorkflowID(order), nil)
	}
	if n := len(s.crm.Received()); n != 5 {
		t.Errorf("CRM received %d POSTs for 5 orders, want 5", n)
	}
}

// (d) An older "in transit" event arriving after "rto" leaves the order in rto;
// an event whose own scan is old but whose latest_status is newer applies the newer.
func TestOlderPushDoesNotRegressStatus(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.configureRTOWebhook()
	order := s.insertOrder("9876511004", 700)
	awb := s.awbOf(order)

	s.waitPush(first(s.clickpost(cpBody(awb, 12, base.Add(2*time.Hour), nil))))
	// The RTO's claim writes the order too: let it finish first. The
	// development store, FerretDB v1, rewrites a whole document per update
	// and can lose one of two concurrent ones (MongoDB updates fields
	// atomically); this test is about event order, not concurrent writers.
	s.waitWorkflow(workflows.RTOCancelWorkflowID(order), nil)
	old := s.waitPush(first(s.clickpost(cpBody(awb, 5, base, map[string]any{
		"latest_status": map[string]any{"clickpost_status_code": 5, "timestamp": base.Add(time.Minute).Format(time.RFC3339)},
	}))))
	doc := s.order(order)
	if doc["tracking_status"] != tracking.RTO || old.Modified == 0 {
		// Modified > 0: the older scan still recorded its first-seen timestamp.
		t.Errorf("after an older in-transit push: status %v (modified %d), want rto", doc["tracking_status"], old.Modified)
	}
	if ts, _ := doc["tracking_timestamps"].(bson.M); ts["in_transit"] == nil || ts["rto"] == nil {
		t.Errorf("first-seen timestamps %v", ts)
	}

	other := s.insertOrder("9876511005", 800)
	s.waitPush(first(s.clickpost(cpBody(s.awbOf(other), 5, base, map[string]any{
		"latest_status": map[string]any{"clickpost_status_code": 21, "timestamp": base.Add(time.Hour).Format(time.RFC3339)},
	}))))
	if st := s.order(other)["tracking_status"]; st != tracking.RTOInTransit {
		t.Errorf("latest_status rto in transit: order is %v", st)
	}
	s.waitWorkflow(workflows.RTOCancelWorkflowID(other), nil)
	if n := len(s.crm.Received()); n != 2 {
		t.Errorf("CRM received %d POSTs, want one per order (2)", n)
	}
}

func first(id string, _ bool) string { return id }

// (e) Every bad input answers its code and leaves the database and Temporal untouched.
func TestBadPushInputChangesNothing(t *testing.T) {
	s := newStack(t)
	order := s.insertOrder("9876511006", 10)
	awb := s.awbOf(order)
	orderBefore := s.order(order)
	countsBefore := s.counts()

	good := cpBody(awb, 12, base, nil)
	ffGood := ffOrderBody("dh1", "DELIVERING", "RETURN", base)
	huge := append(append([]byte(`{"waybill":"`), bytes.Repeat([]byte("x"), 1<<20)...), []byte(`"}`)...)
	ck := map[string]string{"webhook_key": clickpostKey}
	ffHeaders := func(body []byte, secret, delivery string) map[string]string {
		h := map[string]string{"X-Event-Signature": fulfilment.Sign(body, secret)}
		if delivery != "" {
			h["X-Event-Delivery"] = delivery
		}
		return h
	}
	cases := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		body    []byte
		want    int
	}{
		{"clickpost: no key", "POST", "/webhooks/clickpost", nil, good, 401},
		{"clickpost: wrong key", "POST", "/webhooks/clickpost", map[string]string{"webhook_key": clickpostKey + "x"}, good, 401},
		{"clickpost: wrong bearer", "POST", "/webhooks/clickpost", map[string]string{"Authorization": "Bearer nope-nope-nope-nope"}, good, 401},
		{"clickpost: key of another account", "POST", "/webhooks/clickpost/beta", ck, good, 401},
		{"clickpost: unknown account", "POST", "/webhooks/clickpost/nobody", ck, good, 401},
		{"clickpost: the docs' Python True", "POST", "/webhooks/clickpost", ck,
			[]byte(`{"waybill":"` + awb + `","clickpost_status_code":12,"timestamp":"2017-08-02T13:23:02Z","additional":{"is_rvp":True}}`), 400},
		{"clickpost: not JSON", "POST", "/webhooks/clickpost", ck, []byte(`{"waybill":`), 400},
		{"clickpost: no status code", "POST", "/webhooks/clickpost", ck, []byte(`{"waybill":"` + awb + `","timestamp":"2017-08-02T13:23:02Z"}`), 400},
		{"clickpost: no timestamp", "POST", "/webhooks/clickpost", ck, []byte(`{"waybill":"` + awb + `","clickpost_status_code":12}`), 400},
		{"clickpost: over 1 MiB", "POST", "/webhooks/clickpost", ck, huge, 413},
		{"clickpost: GET", "GET", "/webhooks/clickpost", ck, nil, 405},
		{"clickpost: PUT", "PUT", "/webhooks/clickpost/acme", ck, good, 405},
		{"fulfilment: no signature", "POST", "/webhooks/fulfilment", map[string]string{"X-Event-Delivery": "1"}, ffGood, 401},
		{"fulfilment: wrong secret", "POST", "/webhooks/fulfilment", ffHeaders(ffGood, "not-the-secret-0123456789", "1"), ffGood, 401},
		{"fulfilment: signature of another body", "POST", "/webhooks/fulfilment", ffHeaders(ffGood, fulfilmentSecret, "1"), append(ffGood, ' '), 401},
		{"fulfilment: no delivery id", "POST", "/webhooks/fulfilment", ffHeaders(ffGood, fulfilmentSecret, ""), ffGood, 400},
		{"fulfilment: malformed JSON", "POST", "/webhooks/fulfilment/acme", ffHeaders([]byte(`{"event":`), fulfilmentSecret, "2"), []byte(`{"event":`), 400},
		{"fulfilment: no to_status", "POST", "/webhooks/fulfilment", ffHeaders([]byte(`{"event":"ORDER.CHANGE_STATUS","payload":{"order":{"code":"a","updated_at":"2022-06-07T09:55:58Z"}}}`), fulfilmentSecret, "3"),
			[]byte(`{"event":"ORDER.CHANGE_STATUS","payload":{"order":{"code":"a","updated_at":"2022-06-07T09:55:58Z"}}}`), 400},
		{"fulfilment: over 1 MiB", "POST", "/webhooks/fulfilment", ffHeaders(huge, fulfilmentSecret, "4"), huge, 413},
		{"fulfilment: GET", "GET", "/webhooks/fulfilment/acme", nil, nil, 405},
	}
	for _, tc := range cases {
		if code, out := s.raw(tc.method, tc.path, tc.headers, tc.body); code != tc.want {
			t.Errorf("%s: got %d %v, want %d", tc.name, code, out, tc.want)
		}
	}

	// The database: the order, every configuration and log collection, and the push collections.
	after := s.order(order)
	if !reflect.DeepEqual(after, orderBefore) {
		t.Errorf("order changed: %v → %v", orderBefore, after)
	}
	for c, n := range s.counts() {
		if countsBefore[c] != n {
			t.Errorf("%s changed from %d to %d", c, countsBefore[c], n)
		}
	}
	names, err := s.store.Database().ListCollectionNames(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{store.PushEventsCollection, store.StockLevelsCollection, store.PushCredentialsCollection} {
		if n := s.count(c); n != 0 {
			t.Errorf("%s has %d documents after rejected pushes (collections: %v)", c, n, names)
		}
	}
	// Temporal: no workflow started. A good push afterwards is the marker that
	// visibility has caught up: once it is listed, it must be the only one.
	marker, _ := s.clickpost([]byte(`{"test_url":"http://www.clickpost.in/","test_data":{"waybill":"","clickpost_status_code":101,"timestamp":"` +
		time.Now().Format(time.RFC3339Nano) + `"}}`))
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

// (f) Customer returns — is_rvp true on an RTO-family code, a delivered RVP,
// code 101 with a blank waybill — are recorded as returns and fire no RTO:
// the delivered RVP sets returned, which the later return scan does not undo.
func TestCustomerReturnPushesFireNothing(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.configureRTOWebhook()
	order := s.insertOrder("9876511007", 900)
	awb := s.awbOf(order)

	for _, body := range [][]byte{
		cpBody(awb, 12, base, map[string]any{"is_rvp": true}),
		cpBody("RVP"+awb, 8, base.Add(time.Hour), map[string]any{"is_rvp": true, "forward_awb": awb}),
		cpBody("", 101, base.Add(2*time.Hour), map[string]any{"is_rvp": true, "forward_awb": awb, "notification_event_id": 11,
			"latest_status": map[string]any{"clickpost_status_code": 101, "timestamp": base.Add(2 * time.Hour).Format(time.RFC3339)}}),
	} {
		res := s.waitPush(first(s.clickpost(body)))
		if res.Outcome != store.PushOutcomeCustomerReturn || res.OrderID != order || len(res.RTOCancelsStarted) != 0 {
			t.Errorf("customer return: %+v", res)
		}
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
	returns := s.items("/v1/push-events?outcome=customer_return")
	if len(returns) != 3 {
		t.Errorf("%d returns recorded, want 3", len(returns))
	}
}

// An unknown waybill is answered 200 and recorded as unmatched; Clickpost's
// test-webhook payload is answered 200 and recorded, changing no order.
func TestUnmatchedAndTestPushesAreRecorded(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.configureRTOWebhook()
	order := s.insertOrder("9876511008", 50)

	res := s.waitPush(first(s.clickpost(cpBody("NO-SUCH-AWB", 12, base, map[string]any{"order_id": "not-an-order"}))))
	if res.Outcome != store.PushOutcomeUnmatched {
		t.Errorf("unknown waybill: %+v", res)
	}
	test := []byte(`{"test_url":"http://www.clickpost.in/","test_data":{"status":"Return Order Placed","waybill":"","timestamp":"` +
		time.Now().Format(time.RFC3339Nano) + `","clickpost_status_code":101,"additional":{"is_rvp":true}}}`)
	if res := s.waitPush(first(s.clickpost(test))); res.Outcome != store.PushOutcomeTest {
		t.Errorf("test webhook: %+v", res)
	}
	unmatched := s.items("/v1/push-events?outcome=unmatched")
	if len(unmatched) != 1 || unmatched[0]["waybill"] != "NO-SUCH-AWB" {
		t.Errorf("unmatched %v", unmatched)
	}
	if tests := s.items("/v1/push-events?outcome=test"); len(tests) != 1 {
		t.Errorf("test events %v", tests)
	}
	if st := s.order(order)["tracking_status"]; st != tracking.InTransit || len(s.crm.Received()) != 0 {
		t.Errorf("order %v, CRM calls %d", st, len(s.crm.Received()))
	}
}

// Keys set through the configuration API are write-only and rotate: two valid
// at once, then the old one refused. The plain route identifies the account by its key.
func TestPushKeysRotateThroughTheAPI(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	body := cpBody("AWB-ROT", 5, base, nil)
	push := func(path, key string) (int, map[string]any) {
		return s.raw("POST", path, map[string]string{"webhook_key": key}, body)
	}
	if code, _ := push("/webhooks/clickpost/beta", rotatedKeyOld); code != 401 {
		t.Fatalf("before configuration: %d, want 401", code)
	}
	out := s.mustCall(200, "PUT", "/v1/push-credentials/clickpost/beta", map[string]any{"secrets": []string{rotatedKeyOld, rotatedKeyNew}})
	if out["secrets_set"] != 2.0 {
		t.Errorf("PUT answered %v", out)
	}
	for _, key := range []string{rotatedKeyOld, rotatedKeyNew} {
		if code, out := push("/webhooks/clickpost/beta", key); code != 200 || !strings.Contains(fmt.Sprint(out["event_id"]), ":beta:") {
			t.Errorf("during rotation: %d %v", code, out)
		}
	}
	s.mustCall(200, "PUT", "/v1/push-credentials/clickpost/beta", map[string]any{"secrets": []string{rotatedKeyNew}})
	if code, _ := push("/webhooks/clickpost/beta", rotatedKeyOld); code != 401 {
		t.Errorf("old key after rotation: %d, want 401", code)
	}
	if code, out := push("/webhooks/clickpost", rotatedKeyNew); code != 200 || !strings.Contains(fmt.Sprint(out["event_id"]), ":beta:") {
		t.Errorf("plain route with beta's key: %d %v", code, out)
	}
	list := s.items("/v1/push-credentials")
	if len(list) != 5 { // acme clickpost, fulfilment, shiprocket, delhivery (config), beta clickpost (api)
		t.Errorf("credentials listed: %v", list)
	}
	for _, bad := range []struct {
		path string
		body any
		want int
	}{
		{"/v1/push-credentials/bluedart/beta", map[string]any{"secrets": []string{rotatedKeyNew}}, 404},
		{"/v1/push-credentials/clickpost/beta", map[string]any{"secrets": []string{"short"}}, 400},
		{"/v1/push-credentials/clickpost/beta", map[string]any{"secrets": []string{"a-0123456789abcdef", "b-0123456789abcdef", "c-0123456789abcdef"}}, 400},
		{"/v1/push-credentials/clickpost/Bad%20Name", map[string]any{"secrets": []string{rotatedKeyNew}}, 400},
	} {
		if code, out := s.call("PUT", bad.path, bad.body); code != bad.want {
			t.Errorf("PUT %s: %d %v, want %d", bad.path, code, out, bad.want)
		}
	}
	s.mustCall(204, "DELETE", "/v1/push-credentials/clickpost/beta", nil)
	if code, _ := push("/webhooks/clickpost/beta", rotatedKeyNew); code != 401 {
		t.Errorf("deleted key: %d, want 401", code)
	}
}

// With Temporal unreachable a push is answered 503 (the sender retries) and nothing is written.
func TestPushAnswers503WhenTemporalIsUnreachable(t *testing.T) {
	s := newStack(t)
	order := s.insertOrder("9876511009", 10)
	dead, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	logger, _ := observability.NewLogger("info", s.logs)
	api := httptest.NewServer(ingress.Router(ingress.Deps{
		Store: s.store, Temporal: dead, TaskQueue: s.cfg.Temporal.TaskQueue, APIKey: apiKey,
		MaxBodyBytes: s.cfg.HTTP.MaxBodyBytes, Logger: logger, Metrics: observability.NewMetrics(), Push: s.cfg.Push,
	}))
	defer api.Close()
	body := ffOrderBody(order, "DELIVERING", "RETURN", base)
	req, _ := http.NewRequest("POST", api.URL+"/webhooks/fulfilment", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Event-Delivery", "9")
	req.Header.Set("X-Event-Signature", fulfilment.Sign(body, fulfilmentSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("got %d, want 503 with Retry-After", resp.StatusCode)
	}
	if n := s.count(store.PushEventsCollection); n != 0 {
		t.Errorf("%d push events written", n)
	}
	if st := s.order(order)["tracking_status"]; st != tracking.InTransit {
		t.Errorf("order status %v", st)
	}
}

// Durable on 2xx even while Mongo is down: the handler needs only Temporal
// (the account's key is in the configuration), and the event is applied once
// the worker can reach the store.
func TestPushAcceptedWhileMongoIsDown(t *testing.T) {
	s := newStack(t)
	s.configureRTOWebhook()
	order := s.insertOrder("9876511010", 20)
	down, err := store.Connect(context.Background(), s.cfg.Mongo.URI, s.cfg.Mongo.Database, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = down.Close(context.Background()) // every operation on it now fails, as with Mongo unreachable
	logger, _ := observability.NewLogger("info", s.logs)
	api := httptest.NewServer(ingress.Router(ingress.Deps{
		Store: down, Temporal: s.temporal, TaskQueue: s.cfg.Temporal.TaskQueue, APIKey: apiKey,
		MaxBodyBytes: s.cfg.HTTP.MaxBodyBytes, Logger: logger, Metrics: observability.NewMetrics(), Push: s.cfg.Push,
	}))
	defer api.Close()
	body := cpBody(s.awbOf(order), 21, base, nil)
	req, _ := http.NewRequest("POST", api.URL+"/webhooks/clickpost/acme", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook_key", clickpostKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("push while Mongo is down: %d %v, want 200", resp.StatusCode, out)
	}
	s.startWorker()
	if res := s.waitPush(get[string](t, out, "event_id")); res.Outcome != store.PushOutcomeApplied || len(res.RTOCancelsStarted) != 1 {
		t.Fatalf("ingest %+v", res)
	}
	s.waitWorkflow(workflows.RTOCancelWorkflowID(order), nil)
	if n := len(s.crm.Received()); n != 1 {
		t.Errorf("CRM received %d POSTs, want 1", n)
	}
}
