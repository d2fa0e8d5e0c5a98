//go:build integration

package tests

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"orderflow/ingress"
	"orderflow/store"
	"orderflow/tracking"
	"orderflow/workflows"
)

// setWebhookURL changes a CRM webhook's URL through the configuration API.
func (s *stack) setWebhookURL(id, url string) {
	s.t.Helper()
	hook := s.mustCall(200, "GET", "/v1/webhooks/"+id, nil)
	hook["url"] = url
	s.mustCall(200, "PUT", "/v1/webhooks/"+id, hook)
}

// deliverRTO reports an order's first RTO and waits for its RTOCancel.
func (s *stack) deliverRTO(order string) workflows.RTOCancelResult {
	s.t.Helper()
	s.waitWorkflow(s.report(order, tracking.RTO, base), nil)
	var res workflows.RTOCancelResult
	s.waitWorkflow(workflows.RTOCancelWorkflowID(order), &res)
	return res
}

// redrive asks for a re-drive, waits for its workflow and returns its state.
func (s *stack) redrive(body map[string]any) (map[string]any, workflows.RedriveState) {
	s.t.Helper()
	ans := s.mustCall(202, "POST", "/v1/redrives", body)
	var st workflows.RedriveState
	s.waitWorkflow(get[string](s.t, ans, "workflow_id"), &st)
	return ans, st
}

// A delivery rejected for a wrong URL (the CRM answers 404) is re-driven
// after the URL is fixed: exactly one 2xx at the CRM, under the original
// idempotency key, audited with the key's fingerprint, the reason and the
// outcome. The dry run counts what the re-drive then sends. A second re-drive
// is refused without force; forced with a reason it is sent and audited.
func TestRejectedDeliveryRedrivenAfterURLFixGivesOne2xxUnderTheOriginalKey(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	hookID := s.configureRTOWebhook()
	goodURL := get[string](t, s.mustCall(200, "GET", "/v1/webhooks/"+hookID, nil), "url")
	s.setWebhookURL(hookID, strings.Replace(goodURL, "/api/orders/cancel", "/api/orders/cancle", 1))
	order := s.insertOrder("9876500101", 499)
	key := workflows.WebhookIdempotencyKey(order, hookID)

	if res := s.deliverRTO(order); len(res.Deliveries) != 1 || res.Deliveries[0].Status != workflows.DeliveryRejected || res.Deliveries[0].StatusCode != 404 {
		t.Fatalf("RTOCancel result %+v, want one delivery rejected with 404", res)
	}
	rec := s.mustCall(200, "GET", "/v1/delivery-records/"+key, nil)
	if rec["status"] != store.RecordRejected || rec["last_status_code"] != 404.0 || rec["destination_id"] != hookID || rec["attempts"] != 1.0 {
		t.Fatalf("delivery record %v", rec)
	}
	if len(s.crm.Received()) != 0 {
		t.Fatalf("the CRM's cancel endpoint got %d POSTs through a wrong URL", len(s.crm.Received()))
	}

	s.setWebhookURL(hookID, goodURL)
	dry := s.mustCall(200, "POST", "/v1/redrives", map[string]any{"webhook_id": hookID, "dry_run": true})
	if dry["count"] != 1.0 || dry["matched"] != 1.0 || dry["workflow_id"] != nil {
		t.Fatalf("dry run %v", dry)
	}
	ans, st := s.redrive(map[string]any{"webhook_id": hookID, "reason": "webhook URL typo fixed", "rate_per_second": 10})
	if float64(st.Sent()) != dry["count"] || st.Totals["delivered"] != 1 {
		t.Errorf("re-drive sent %d (%v), the dry run counted %v", st.Sent(), st.Totals, dry["count"])
	}
	accepted := s.crm.Accepted()
	if len(accepted) != 1 || accepted[0].IdempotencyKey != key || accepted[0].Body["order_id"] != order {
		t.Fatalf("CRM accepted %+v, want one POST under %s", accepted, key)
	}
	audit := s.mustCall(200, "GET", "/v1/redrives/"+get[string](t, ans, "redrive_id"), nil)
	if id, _ := lookup[string](audit, "audit", "actor", "id"); id != ingress.APIKeyFingerprint(apiKey) {
		t.Errorf("audit actor %v, want the API key's fingerprint", audit["audit"])
	}
	if reason, _ := lookup[string](audit, "audit", "reason"); reason != "webhook URL typo fixed" {
		t.Errorf("audit reason %q", reason)
	}
	outcomes := get[[]any](t, audit, "outcomes")
	if len(outcomes) != 1 || as[map[string]any](t, outcomes[0], "outcome")["outcome"] != "delivered" ||
		as[map[string]any](t, outcomes[0], "outcome")["record_id"] != key {
		t.Errorf("audit outcomes %v", outcomes)
	}
	if rec := s.mustCall(200, "GET", "/v1/delivery-records/"+key, nil); rec["status"] != store.RecordDelivered || rec["redrives"] != 1.0 {
		t.Errorf("record after the re-drive %v", rec)
	}

	// Delivered now: refused without force, and force needs a reason.
	s.mustCall(409, "POST", "/v1/redrives", map[string]any{"delivery_ids": []string{key}, "reason": "again"})
	if code, out := s.call("POST", "/v1/redrives", map[string]any{"delivery_ids": []string{key}, "force": true}); code != 400 || out["field"] != "reason" {
		t.Errorf("force without a reason: %d %v", code, out)
	}
	if n := len(s.crm.Received()); n != 1 {
		t.Fatalf("refused re-drives reached the CRM: %d POSTs", n)
	}
	forced, st := s.redrive(map[string]any{"delivery_ids": []string{key}, "force": true, "reason": "CRM lost the update"})
	if st.Totals["delivered"] != 1 || len(s.crm.Accepted()) != 2 || s.crm.Accepted()[1].IdempotencyKey != key {
		t.Errorf("forced re-drive: %v, CRM accepted %d", st.Totals, len(s.crm.Accepted()))
	}
	audit = s.mustCall(200, "GET", "/v1/redrives/"+get[string](t, forced, "redrive_id"), nil)
	if force, _ := lookup[bool](audit, "audit", "force"); !force {
		t.Errorf("forced audit %v", audit)
	}
	if status, _ := lookup[string](audit, "audit", "status"); status != store.RedriveCompleted {
		t.Errorf("forced audit status %q", status)
	}
}

// Bad input: nothing matched is a 200 with a count of 0; unknown ids are a
// 404; force without a reason and a rate of zero or below are a 400 naming the field.
func TestRedriveBadInput(t *testing.T) {
	s := newStack(t)
	hookID := s.configureRTOWebhook()
	nothing := s.mustCall(200, "POST", "/v1/redrives", map[string]any{"webhook_id": hookID, "order_ids": []string{"no-such-order"}, "reason": "r"})
	if nothing["count"] != 0.0 || nothing["workflow_id"] != nil {
		t.Errorf("a filter matching nothing: %v", nothing)
	}
	for _, tc := range []struct {
		name  string
		body  map[string]any
		code  int
		field string
	}{
		{"unknown webhook", map[string]any{"webhook_id": bson.NewObjectID().Hex(), "reason": "r"}, 404, "webhook_id"},
		{"unknown profile", map[string]any{"profile_id": bson.NewObjectID().Hex(), "reason": "r"}, 404, "profile_id"},
		{"unknown delivery", map[string]any{"delivery_ids": []string{"rto-cancel:nope:nope"}, "reason": "r"}, 404, "delivery_ids"},
		{"force without reason", map[string]any{"webhook_id": hookID, "force": true}, 400, "reason"},
		{"no reason", map[string]any{"webhook_id": hookID}, 400, "reason"},
		{"zero rate", map[string]any{"webhook_id": hookID, "reason": "r", "rate_per_second": 0}, 400, "rate_per_second"},
		{"negative rate", map[string]any{"webhook_id": hookID, "reason": "r", "rate_per_second": -1}, 400, "rate_per_second"},
		{"two targets", map[string]any{"webhook_id": hookID, "profile_id": "p", "reason": "r"}, 400, "delivery_ids"},
		{"unknown status", map[string]any{"webhook_id": hookID, "statuses": []string{"lost"}, "reason": "r"}, 400, "statuses"},
	} {
		code, out := s.call("POST", "/v1/redrives", tc.body)
		if code != tc.code || out["field"] != tc.field {
			t.Errorf("%s: %d %v, want %d naming %s", tc.name, code, out, tc.code, tc.field)
		}
	}
	s.mustCall(404, "GET", "/v1/redrives/redrive:nope", nil)
}

// A test event shows the exact body and headers (the token redacted) and
// reaches the CRM only when asked, under a test key; no order's claim,
// delivery record or key changes.
func TestTestEventReachesTheCRMOnlyWhenAskedAndTouchesNoOrder(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	hookID := s.configureRTOWebhook()
	order := s.insertOrder("9876500102", 250)
	s.deliverRTO(order)
	key := workflows.WebhookIdempotencyKey(order, hookID)
	before := s.snapshot(order, key)

	preview := s.mustCall(200, "POST", "/v1/webhooks/"+hookID+"/test", map[string]any{})
	if preview["sent"] != false || get[map[string]any](t, preview, "body")["status"] != "rto" {
		t.Errorf("preview %v", preview)
	}
	headers := get[map[string]any](t, preview, "headers")
	if auth := as[[]any](t, headers["Authorization"], "Authorization"); len(auth) != 1 || auth[0] != "[redacted]" {
		t.Errorf("preview Authorization %v", headers["Authorization"])
	}
	testKey := get[string](t, preview, "idempotency_key")
	if !strings.HasPrefix(testKey, "test-event:") {
		t.Errorf("test key %q", testKey)
	}
	if n := len(s.crm.Received()); n != 1 {
		t.Fatalf("a preview reached the CRM: %d POSTs", n)
	}

	sent := s.mustCall(200, "POST", "/v1/webhooks/"+hookID+"/test", map[string]any{"send": true,
		"data": map[string]any{"order_id": "sample-1", "customer": map[string]any{"phone": "9000000000"}, "total_amt": 10}})
	if sent["sent"] != true || sent["status_code"] != 200.0 || !strings.Contains(get[string](t, sent, "answer"), "ok") {
		t.Errorf("sent test %v", sent)
	}
	got := s.crm.Received()
	if len(got) != 2 || !strings.HasPrefix(got[1].IdempotencyKey, "test-event:") || got[1].Body["order_id"] != "sample-1" || !got[1].Authorized {
		t.Fatalf("CRM received %+v", got)
	}
	if after := s.snapshot(order, key); !reflect.DeepEqual(after, before) {
		t.Errorf("a test event changed the order's state:\nbefore %s\nafter  %s", before, after)
	}
	s.mustCall(404, "POST", "/v1/webhooks/"+bson.NewObjectID().Hex()+"/test", map[string]any{})
}

// snapshot is the order's claim, its delivery record and the collections'
// sizes.
func (s *stack) snapshot(order, key string) map[string]any {
	s.t.Helper()
	ctx := context.Background()
	db := s.store.Database()
	var claim, rec bson.M
	oid, err := bson.ObjectIDFromHex(order)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := db.Collection(store.RTOClaimsCollection).FindOne(ctx, bson.M{"_id": oid}).Decode(&claim); err != nil {
		s.t.Fatalf("claim: %v", err)
	}
	if err := db.Collection(store.DeliveryRecordsCollection).FindOne(ctx, bson.M{"_id": key}).Decode(&rec); err != nil {
		s.t.Fatalf("delivery record: %v", err)
	}
	return map[string]any{"claim": claim, "record": rec,
		"records": s.count(store.DeliveryRecordsCollection), "attempts": s.count(store.WebhookDeliveriesCollection),
		"claims": s.count(store.RTOClaimsCollection)}
}
