//go:build integration

package tests

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"orderflow/dev/sandbox/billing"
	"orderflow/recovery"
	"orderflow/store"
	"orderflow/workflows"
)

// A CRM webhook's own retry settings are followed: the CRM answers 503 to
// every POST; with 2 s between tries and a 7 s window the delivery makes four
// POSTs about 2 s apart (the default back-off would wait 1 s, 2 s, 4 s and go
// on for three days), then ends as exhausted, not rejected.
func TestCRMWebhookFollowsItsOwnRetrySchedule(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	hookID := s.configureRTOWebhook()
	hook := s.mustCall(200, "GET", "/v1/webhooks/"+hookID, nil)
	hook["retry"] = map[string]any{"backoff_coefficient": 0.5}
	if code, out := s.call("PUT", "/v1/webhooks/"+hookID, hook); code != 400 || out["field"] != "retry.backoff_coefficient" {
		t.Fatalf("a coefficient below 1: %d %v, want a 400 naming retry.backoff_coefficient", code, out)
	}
	hook["retry"] = map[string]any{"initial_interval_seconds": 2, "maximum_interval_seconds": 2, "backoff_coefficient": 1, "window_seconds": 7}
	s.mustCall(200, "PUT", "/v1/webhooks/"+hookID, hook)
	s.crm.FailNext(503, 503, 503, 503, 503, 503, 503, 503)
	order := s.insertOrder("9876500201", 250)

	res := s.deliverRTO(order)
	if len(res.Deliveries) != 1 || res.Deliveries[0].Status != workflows.DeliveryFailed {
		t.Fatalf("RTOCancel result %+v, want one failed delivery", res)
	}
	got := s.crm.Received()
	if len(got) != 4 {
		t.Fatalf("the CRM got %d POSTs, want 4 (at 0, 2, 4 and 6 s of a 7 s window)", len(got))
	}
	for i := 1; i < len(got); i++ {
		if gap := got[i].At.Sub(got[i-1].At); gap < 1500*time.Millisecond || gap > 4*time.Second {
			t.Errorf("wait before POST %d: %v, want about 2 s", i+1, gap)
		}
	}
	key := workflows.WebhookIdempotencyKey(order, hookID)
	if rec := s.mustCall(200, "GET", "/v1/delivery-records/"+key, nil); rec["status"] != store.RecordExhausted || rec["attempts"] != 4.0 {
		t.Errorf("delivery record %v, want exhausted after 4 POSTs", rec)
	}
}

// A merchant profile's own list of delays is followed: with two 1 s delays
// and an endpoint answering 500, the payment_succeeded webhook is POSTed
// three times within seconds (Hyperswitch's default waits a minute before
// the second), then given up and its record exhausted.
func TestMerchantWebhookFollowsItsProfilesRetryDelays(t *testing.T) {
	r := newRecoveryStack(t)
	r.startWorker()
	r.setup(seconds)
	prof := r.mustCall(200, "GET", "/v1/profiles/"+r.profileID, nil)
	delete(prof, "payment_response_hash_key_set") // the view's, not a field to write
	prof["webhook_retry_delays_seconds"] = []int{1, 0}
	if code, out := r.call("PUT", "/v1/profiles/"+r.profileID, prof); code != 400 || out["field"] != "webhook_retry_delays_seconds" {
		t.Fatalf("a zero delay: %d %v, want a 400 naming webhook_retry_delays_seconds", code, out)
	}
	prof["webhook_retry_delays_seconds"] = []int{1, 1}
	if got := r.mustCall(200, "PUT", "/v1/profiles/"+r.profileID, prof); fmt.Sprint(got["webhook_retry_delays_seconds"]) != "[1 1]" {
		t.Fatalf("profile view %v", got)
	}
	r.merchant.FailNext(500, 500, 500, 500)
	inv := r.invoice("inv_schedule")
	if code := r.send(recovery.Chargebee, billing.Failed, inv); code != 200 {
		t.Fatalf("billing webhook answered %d", code)
	}
	eventually(t, time.Minute, "the merchant webhook to be exhausted", func() bool {
		code, page := r.call("GET", "/v1/delivery-records?status=exhausted&profile_id="+r.profileID, nil)
		items, _ := lookup[[]any](page, "items")
		return code == 200 && len(items) == 1
	})
	got := r.merchant.Received()
	if len(got) != 3 {
		t.Fatalf("the merchant got %d POSTs, want 3 (the first and two retries)", len(got))
	}
	if span := got[2].At.Sub(got[0].At); span > 10*time.Second {
		t.Errorf("three POSTs took %v, want about 2 s", span)
	}
}

// Delivery records are searchable by order, invoice, webhook, profile,
// status and time; following next_cursor lists every match once, in order.
func TestDeliveryRecordSearchPagesWithoutDuplicatesOrGaps(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	want := map[string][]string{} // query → ids, in the order written
	for i := range 23 {
		rec := store.DeliveryRecord{ID: fmt.Sprintf("key-%02d", i), Kind: store.KindCRMWebhook, DestinationID: "wh1", Event: "order.rto",
			OrderID: fmt.Sprintf("order-%d", i%5), WorkflowID: "wf"}
		status := store.RecordDelivered
		if i%3 == 0 {
			status = store.RecordExhausted
		}
		if i%4 == 0 {
			rec.Kind, rec.DestinationID, rec.OrderID, rec.InvoiceID, rec.Event = store.KindMerchantWebhook, "p1", "", fmt.Sprintf("inv-%d", i%2), "payment_succeeded"
		}
		at := t0.Add(time.Duration(i) * time.Hour)
		if err := s.store.WriteDeliveryRecord(ctx, store.RecordWrite{Record: rec, At: at, Retention: time.Hour}); err != nil {
			t.Fatal(err)
		}
		if err := s.store.WriteDeliveryRecord(ctx, store.RecordWrite{Record: rec, Status: status, At: at, Retention: time.Hour}); err != nil {
			t.Fatal(err)
		}
		want[""] = append(want[""], rec.ID)
		if rec.Kind == store.KindCRMWebhook {
			want["webhook_id=wh1"] = append(want["webhook_id=wh1"], rec.ID)
		} else {
			want["profile_id=p1"] = append(want["profile_id=p1"], rec.ID)
		}
		if rec.OrderID == "order-1" {
			want["order_id=order-1"] = append(want["order_id=order-1"], rec.ID)
		}
		if rec.InvoiceID == "inv-0" {
			want["invoice_id=inv-0"] = append(want["invoice_id=inv-0"], rec.ID)
		}
		if status == store.RecordExhausted {
			want["status=exhausted"] = append(want["status=exhausted"], rec.ID)
		}
		if i >= 5 && i < 12 {
			want["from=2025-03-01T05:00:00Z&to=2025-03-01T12:00:00Z"] = append(want["from=2025-03-01T05:00:00Z&to=2025-03-01T12:00:00Z"], rec.ID)
		}
	}
	for query, ids := range want {
		if got := s.searchAll(query, 4); fmt.Sprint(got) != fmt.Sprint(ids) {
			t.Errorf("%q: %v, want %v", query, got, ids)
		}
	}
	if code, out := s.call("GET", "/v1/delivery-records?cursor=bogus", nil); code != 400 || out["field"] != "cursor" {
		t.Errorf("a bad cursor: %d %v", code, out)
	}
}

// searchAll follows next_cursor from the first page to the last and returns
// every id listed, failing on a repeated one.
func (s *stack) searchAll(query string, limit int) []string {
	s.t.Helper()
	var ids []string
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			s.t.Fatalf("%q: more than 100 pages", query)
		}
		path := fmt.Sprintf("/v1/delivery-records?limit=%d&%s", limit, query)
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		page := s.mustCall(200, "GET", path, nil)
		items := get[[]any](s.t, page, "items")
		if len(items) > limit {
			s.t.Fatalf("%q: a page of %d, limit %d", query, len(items), limit)
		}
		for _, it := range items {
			rec := as[map[string]any](s.t, it, "record")
			id := as[string](s.t, rec["id"], "record id")
			if seen[id] {
				s.t.Fatalf("%q: %s listed twice", query, id)
			}
			seen[id] = true
			ids = append(ids, id)
		}
		next, _ := lookup[string](page, "next_cursor")
		if next == "" {
			return ids
		}
		cursor = next
	}
}
