package ingress

import (
	"errors"
	"net/url"
	"testing"

	"orderflow/store"
)

func TestRecordSearchQueryBecomesAFilter(t *testing.T) {
	q := url.Values{"profile_id": {"p1"}, "invoice_id": {"inv_1"}, "status": {"exhausted,parked"},
		"from": {"2025-01-01T00:00:00Z"}, "limit": {"7"}, "cursor": {encodeCursor("evt_9")}}
	f, after, limit, err := parseRecordSearch(q)
	if err != nil {
		t.Fatal(err)
	}
	if f.Kind != store.KindMerchantWebhook || f.DestinationID != "p1" || len(f.InvoiceIDs) != 1 || len(f.Statuses) != 2 || f.From.IsZero() {
		t.Errorf("filter %+v", f)
	}
	if after != "evt_9" || limit != 7 {
		t.Errorf("after %q limit %d, want evt_9 and 7", after, limit)
	}
}

func TestRecordSearchRefusesBadParametersNamingThem(t *testing.T) {
	for field, q := range map[string]url.Values{
		"webhook_id": {"webhook_id": {"a"}, "profile_id": {"b"}},
		"status":     {"status": {"delivered,lost"}},
		"from":       {"from": {"yesterday"}},
		"cursor":     {"cursor": {"not-ours"}},
		"limit":      {"limit": {"0"}},
	} {
		_, _, _, err := parseRecordSearch(q)
		var re *RedriveError
		if !errors.As(err, &re) || re.Field != field || re.Code != 400 {
			t.Errorf("%v: %v, want a 400 naming %s", q, err, field)
		}
	}
}
