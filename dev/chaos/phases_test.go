//go:build chaos

package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"orderflow/dev/sandbox/crm"
	"orderflow/store"
	"orderflow/tracking"
	"orderflow/workflows"
)

// The RTO part closes with two phases on a calm CRM (no injected 500s,
// timeouts or token rejections, no worker kills): each phase's own fault is
// the only one, so what it asserts follows from that fault alone.
const (
	// phaseOrders turn RTO in each phase.
	phaseOrders = 20
	// phaseRetryWindow is the CRM webhook's retry window during the phases,
	// set through the webhook's own retry configuration: without the
	// endpoint's breaker, a CRM refusing connections for longer than this
	// would exhaust every delivery.
	phaseRetryWindow = 5 * time.Second
	// phaseRedriveRate is the re-drive's rate: 20 deliveries in a second.
	phaseRedriveRate = 20.0
	// closingPhasesBudget is added to the RTO test's deadline: both phases
	// took about a minute under a load average of 15.
	closingPhasesBudget = time.Minute
)

// phaseCRMRefusesConnections: the CRM refuses every connection (its
// listener closed: the kernel answers with a reset) while phaseOrders orders
// turn RTO, and keeps refusing until each of their deliveries is older than
// the webhook's retry window. The transport errors open the endpoint's
// breaker, so the deliveries park instead of exhausting; once the CRM listens
// again a probe closes the endpoint and the drain releases them. Asserts:
// every delivery parked, none exhausted, the endpoint was open, and each
// order's key got its 2xx without a re-drive. Returns the phase's orders.
func (c *cluster) phaseCRMRefusesConnections(ctx context.Context, hookID string) []string {
	c.t.Helper()
	start := time.Now()
	orders := c.insertOrders(phaseOrders)
	keys := idempotencyKeys(orders, hookID)
	window := int(phaseRetryWindow.Seconds())
	c.updateWebhook(hookID, func(h map[string]any) {
		h["retry"] = map[string]any{"initial_interval_seconds": 1, "maximum_interval_seconds": 2, "backoff_coefficient": 2.0, "window_seconds": window}
	})
	if err := c.crmServer.Refuse(); err != nil {
		c.t.Fatal(err)
	}
	refusedAt := time.Now()
	c.reportRTO(ctx, orders)
	waitFor(c.t, ctx, "every delivery parked and older than the retry window while the CRM refuses", func() bool {
		recs, ok := c.deliveryRecords(ctx, keys)
		if !ok {
			return false
		}
		for _, r := range recs {
			if r.Status == store.RecordExhausted {
				c.t.Fatalf("delivery %s exhausted while the CRM refused connections: the breaker did not park it (%s)", r.ID, r.LastError)
			}
			if r.ParkedAt.IsZero() || time.Since(r.CreatedAt) < phaseRetryWindow+time.Second {
				return false
			}
		}
		return true
	})
	h := c.endpointHealth(ctx, hookID)
	c.t.Logf("phase 1: CRM refusing for %v; endpoint %s after %d failures in a row (last error %q)",
		time.Since(refusedAt).Round(time.Millisecond), h.State, h.ConsecutiveFailures, h.LastError)
	if h.State != store.EndpointOpen {
		c.t.Errorf("phase 1: the endpoint is %q while the CRM refuses connections, want open", h.State)
	}
	if err := c.crmServer.Accept(); err != nil {
		c.t.Fatal(err)
	}
	back := time.Now()
	waitFor(c.t, ctx, "every parked delivery's 2xx once the CRM listens again", func() bool { return allAccepted(c.crm, keys) })
	c.t.Logf("phase 1: %d parked deliveries drained %v after the CRM came back; phase %v in all",
		len(keys), time.Since(back).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	// A record says delivered once its activity has read the 2xx: a moment
	// after the CRM answered.
	waitFor(c.t, ctx, "every phase 1 delivery record delivered", func() bool {
		recs, ok := c.deliveryRecords(ctx, keys)
		return ok && !slices.ContainsFunc(recs, func(r store.DeliveryRecord) bool { return r.Status != store.RecordDelivered })
	})
	c.assertRecords(ctx, "phase 1", keys, store.RecordDelivered, 0)
	return orders
}

// phaseWrongWebhookURL: the webhook's URL has a typo (the CRM answers 404)
// while phaseOrders orders turn RTO. Each delivery is rejected at once (a
// final 4xx, which never opens the breaker); the test fixes the URL through
// the configuration API, dry-runs a re-drive of the webhook's failed
// deliveries (its count must be exactly these), starts it and waits for its
// audit. Asserts: every delivery rejected with a 404, the endpoint still
// closed, the dry run's count, each order's ORIGINAL key answered 2xx once the
// re-drive sent it, the audit complete with every delivery delivered.
// Returns the phase's orders.
func (c *cluster) phaseWrongWebhookURL(ctx context.Context, hookID string) []string {
	c.t.Helper()
	start := time.Now()
	// Closed is enough: a drain flag left set (see docs/chaos.md, "What chaos
	// found") only makes the next delivery park once and start a drain.
	waitFor(c.t, ctx, "the endpoint closed after phase 1", func() bool {
		return c.endpointHealth(ctx, hookID).State == store.EndpointClosed
	})
	if h := c.endpointHealth(ctx, hookID); h.Draining {
		c.t.Logf("phase 2: the endpoint is closed but still marked draining, with every phase 1 delivery answered")
	}
	orders := c.insertOrders(phaseOrders)
	keys := idempotencyKeys(orders, hookID)
	right := c.crmURL + crm.CancelPath
	c.updateWebhook(hookID, func(h map[string]any) { h["url"] = right + "-v0" })
	c.reportRTO(ctx, orders)
	waitFor(c.t, ctx, "every delivery to the wrong URL rejected", func() bool {
		recs, ok := c.deliveryRecords(ctx, keys)
		if !ok {
			return false
		}
		for _, r := range recs {
			if r.Status != store.RecordRejected {
				return false
			}
		}
		return true
	})
	c.assertRecords(ctx, "phase 2 (wrong URL)", keys, store.RecordRejected, http.StatusNotFound)
	if h := c.endpointHealth(ctx, hookID); h.State != store.EndpointClosed {
		c.t.Errorf("phase 2: %d 404s left the endpoint %q: a final 4xx must never open it", len(keys), h.State)
	}
	c.updateWebhook(hookID, func(h map[string]any) { h["url"] = right })

	dry := c.redrive(map[string]any{"webhook_id": hookID, "dry_run": true}, http.StatusOK)
	if dry.Matched != int64(len(keys)) || dry.Count != int64(len(keys)) || dry.Refused != 0 {
		c.t.Errorf("phase 2: the dry run matched %d, refused %d, would send %d; want exactly the %d rejected deliveries (none exhausted in phase 1)",
			dry.Matched, dry.Refused, dry.Count, len(keys))
	}
	rate := phaseRedriveRate
	rd := c.redrive(map[string]any{"webhook_id": hookID, "reason": "the webhook URL had a typo; fixed", "rate_per_second": rate}, http.StatusAccepted)
	if rd.Count != dry.Count || rd.RedriveID == "" {
		c.t.Fatalf("phase 2: the re-drive answered %+v after a dry run of %d", rd, dry.Count)
	}
	waitFor(c.t, ctx, "every re-driven delivery's 2xx", func() bool { return allAccepted(c.crm, keys) })
	var audit redriveReport
	waitFor(c.t, ctx, "the re-drive's audit completed", func() bool {
		audit = c.redriveAudit(rd.RedriveID)
		return audit.Audit.Status == store.RedriveCompleted
	})
	if audit.Audit.Actor.Kind != "api_key" || audit.Audit.Reason == "" || audit.Audit.Totals["delivered"] != len(keys) || len(audit.Outcomes) != len(keys) {
		c.t.Errorf("phase 2: audit %+v with %d outcomes; want the API key as actor, the reason and %d delivered", audit.Audit, len(audit.Outcomes), len(keys))
	}
	c.assertRecords(ctx, "phase 2 (re-driven)", keys, store.RecordDelivered, 0)
	c.t.Logf("phase 2: %d deliveries rejected (404), URL fixed, dry run %d, re-drive %s delivered %d; phase %v in all",
		len(keys), dry.Count, rd.RedriveID, audit.Audit.Totals["delivered"], time.Since(start).Round(time.Millisecond))
	return orders
}

func idempotencyKeys(orders []string, hookID string) []string {
	keys := make([]string, len(orders))
	for i, o := range orders {
		keys[i] = workflows.WebhookIdempotencyKey(o, hookID)
	}
	return keys
}

func allAccepted(c *crm.CRM, keys []string) bool {
	got := acceptedKeys(c)
	for _, k := range keys {
		if got[k] == 0 {
			return false
		}
	}
	return true
}

// reportRTO reports each order's first RTO through the status API, spread
// over both starters, retrying a 503.
func (c *cluster) reportRTO(ctx context.Context, orders []string) {
	c.t.Helper()
	body, _ := json.Marshal(map[string]string{"status": tracking.RTOInTransit, "source": "manual"})
	err := parallel(ctx, len(orders), 4, func(i int) error {
		for {
			code, out, err := c.call(ctx, http.MethodPost, "/v1/orders/"+orders[i]+"/tracking", body)
			switch {
			case err != nil:
				return err
			case code == http.StatusAccepted || code == http.StatusOK:
				return nil
			case code != http.StatusServiceUnavailable:
				return fmt.Errorf("report RTO of %s: %d %s", orders[i], code, out)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	})
	if err != nil {
		c.t.Fatal(err)
	}
}

// updateWebhook changes the webhook through the configuration API: GET, edit, PUT.
func (c *cluster) updateWebhook(hookID string, edit func(map[string]any)) {
	c.t.Helper()
	code, out, err := c.call(context.Background(), http.MethodGet, "/v1/webhooks/"+hookID, nil)
	if err != nil || code != http.StatusOK {
		c.t.Fatalf("GET webhook: %d %s %v", code, out, err)
	}
	var cur map[string]any
	if err := json.Unmarshal(out, &cur); err != nil {
		c.t.Fatal(err)
	}
	doc := map[string]any{}
	for _, k := range []string{"name", "url", "module_name", "events", "auth_id", "payload_id", "active", "retry"} {
		if v, ok := cur[k]; ok && v != nil {
			doc[k] = v
		}
	}
	edit(doc)
	raw, _ := json.Marshal(doc)
	if code, out, err := c.call(context.Background(), http.MethodPut, "/v1/webhooks/"+hookID, raw); err != nil || code != http.StatusOK {
		c.t.Fatalf("PUT webhook: %d %s %v", code, out, err)
	}
}

// redriveAnswer is POST /v1/redrives' answer.
type redriveAnswer struct {
	Matched   int64  `json:"matched"`
	Refused   int64  `json:"refused"`
	Count     int64  `json:"count"`
	RedriveID string `json:"redrive_id"`
}

func (c *cluster) redrive(req map[string]any, want int) redriveAnswer {
	c.t.Helper()
	raw, _ := json.Marshal(req)
	code, out, err := c.call(context.Background(), http.MethodPost, "/v1/redrives", raw)
	if err != nil || code != want {
		c.t.Fatalf("POST /v1/redrives %s: %d %s %v, want %d", raw, code, out, err, want)
	}
	var ans redriveAnswer
	if err := json.Unmarshal(out, &ans); err != nil {
		c.t.Fatal(err)
	}
	return ans
}

// redriveReport is GET /v1/redrives/{id}'s answer.
type redriveReport struct {
	Audit    store.RedriveAudit     `json:"audit"`
	Outcomes []store.RedriveOutcome `json:"outcomes"`
}

// redriveAudit reads a re-drive's audit through the API; the zero audit
// until it is written.
func (c *cluster) redriveAudit(id string) redriveReport {
	var a redriveReport
	code, out, err := c.call(context.Background(), http.MethodGet, "/v1/redrives/"+id, nil)
	if err == nil && code == http.StatusOK {
		if err := json.Unmarshal(out, &a); err != nil {
			c.t.Errorf("re-drive audit %s: %v", out, err)
		}
	}
	return a
}

// deliveryRecords reads the records of these keys; false until every one exists.
func (c *cluster) deliveryRecords(ctx context.Context, keys []string) ([]store.DeliveryRecord, bool) {
	out := make([]store.DeliveryRecord, 0, len(keys))
	for _, k := range keys {
		r, err := c.db.DeliveryRecord(ctx, k)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				c.t.Logf("delivery record %s: %v", k, err)
			}
			return nil, false
		}
		out = append(out, r)
	}
	return out, true
}

// assertRecords checks every key's record has this status (and last status
// code, when not 0).
func (c *cluster) assertRecords(ctx context.Context, phase string, keys []string, status string, code int) {
	c.t.Helper()
	recs, ok := c.deliveryRecords(ctx, keys)
	if !ok {
		c.t.Errorf("%s: delivery records missing", phase)
		return
	}
	for _, r := range recs {
		if r.Status != status || (code != 0 && r.LastStatusCode != code) {
			c.t.Errorf("%s: delivery %s is %s (last code %d, %q), want %s", phase, r.ID, r.Status, r.LastStatusCode, r.LastError, status)
		}
	}
}

// endpointHealth is the webhook's breaker state; the zero state when the store cannot answer.
func (c *cluster) endpointHealth(ctx context.Context, hookID string) store.EndpointHealth {
	h, err := c.db.EndpointHealthByID(ctx, store.KindCRMWebhook, hookID)
	if err != nil {
		c.t.Logf("endpoint health: %v", err)
	}
	return h
}
