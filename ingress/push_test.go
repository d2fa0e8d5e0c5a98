package ingress

import (
	"maps"
	"strings"
	"testing"
	"time"

	"orderflow/config"
	"orderflow/store"
	"orderflow/tracking"
	"orderflow/tracking/clickpost"
	"orderflow/tracking/fulfilment"
	"orderflow/workflows"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func parseCP(t *testing.T, body string) clickpost.Event {
	t.Helper()
	ev, err := clickpost.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestClickpostIngestKinds(t *testing.T) {
	cases := []struct {
		name     string
		body     string
		kind     string
		statuses []string
		refs     []store.OrderRef
	}{
		{"rto with a newer latest_status", `{"waybill":"W1","clickpost_status_code":21,"timestamp":"2026-11-20T10:00:00Z","additional":{"order_id":"o1","latest_status":{"clickpost_status_code":14,"timestamp":"2026-11-21T10:00:00Z"}}}`,
			workflows.PushKindStatus, []string{tracking.RTOInTransit, tracking.RTODelivered},
			[]store.OrderRef{{Field: store.OrderFieldAWB, Value: "W1"}, {Field: store.OrderFieldID, Value: "o1"}}},
		{"is_rvp on an RTO code", `{"waybill":"R1","clickpost_status_code":12,"timestamp":"2026-11-20T10:00:00Z","additional":{"is_rvp":true,"forward_awb":"W1"}}`,
			workflows.PushKindCustomerReturn, nil,
			[]store.OrderRef{{Field: store.OrderFieldAWB, Value: "W1"}, {Field: store.OrderFieldAWB, Value: "R1"}}},
		{"code 101 without is_rvp", `{"waybill":"","clickpost_status_code":101,"timestamp":"2026-11-20T10:00:00Z","additional":{"forward_awb":"W1"}}`,
			workflows.PushKindCustomerReturn, nil, []store.OrderRef{{Field: store.OrderFieldAWB, Value: "W1"}}},
		{"a code without a canonical status", `{"waybill":"W1","clickpost_status_code":19,"timestamp":"2026-11-20T10:00:00Z"}`,
			workflows.PushKindIgnored, nil, []store.OrderRef{{Field: store.OrderFieldAWB, Value: "W1"}}},
		{"test webhook", `{"test_url":"u","test_data":{"waybill":"","clickpost_status_code":101}}`, workflows.PushKindTest, nil, nil},
	}
	for _, tc := range cases {
		in := clickpostIngest(parseCP(t, tc.body), "acme", now)
		if in.Kind != tc.kind || len(in.Scans) != len(tc.statuses) || len(in.OrderRefs) != len(tc.refs) {
			t.Errorf("%s: %+v", tc.name, in)
			continue
		}
		for i, s := range tc.statuses {
			if in.Scans[i].Status != s {
				t.Errorf("%s: scan %d = %s, want %s", tc.name, i, in.Scans[i].Status, s)
			}
		}
		for i, r := range tc.refs {
			if in.OrderRefs[i] != r {
				t.Errorf("%s: ref %d = %+v, want %+v", tc.name, i, in.OrderRefs[i], r)
			}
		}
	}
}

func TestFulfilmentIngest(t *testing.T) {
	ev, err := fulfilment.Parse([]byte(`{"event":"ORDER.CHANGE_STATUS","payload":{"order":{"code":"dh07060099","updated_at":"2022-06-07T09:55:58.000000Z"},"to_status":"RETURN"}}`))
	if err != nil {
		t.Fatal(err)
	}
	in := fulfilmentIngest(ev, "acme", "42", now)
	if in.EventID != "push:fulfilment:acme:42" || in.Kind != workflows.PushKindStatus || len(in.Scans) != 1 ||
		in.Scans[0].Status != tracking.RTO || !in.Scans[0].EventTime.Equal(time.Date(2022, 6, 7, 9, 55, 58, 0, time.UTC)) {
		t.Errorf("order change: %+v", in)
	}
	if in.OrderRefs[0].Field != store.OrderFieldID || in.OrderRefs[1].Field != store.OrderFieldFulfilmentCode {
		t.Errorf("refs %+v", in.OrderRefs)
	}
	unknown, _ := fulfilment.Parse([]byte(`{"event":"ORDER.CHANGE_STATUS","payload":{"order":{"code":"a","updated_at":"2022-06-07T09:55:58Z"},"to_status":"TELEPORTED"}}`))
	if in := fulfilmentIngest(unknown, "acme", "43", now); in.Kind != workflows.PushKindIgnored || len(in.Scans) != 0 {
		t.Errorf("unknown status: %+v", in)
	}
	other, _ := fulfilment.Parse([]byte(`{"event":"PRODUCT.CREATED","payload":{}}`))
	if in := fulfilmentIngest(other, "acme", "44", now); in.Kind != workflows.PushKindIgnored {
		t.Errorf("unknown event: %+v", in)
	}
}

// The plain route identifies the account by its key and verifies every
// account whatever the key (no early exit: how long a refusal takes must not
// tell which accounts came before the match); the account route verifies only
// its own. With the match first, in the middle, last or nowhere in name order,
// an implementation that stops at (or skips verifying after) the first match
// verifies fewer accounts, and one that keeps the last match names "echo" for
// the shared key.
func TestCredentialMatch(t *testing.T) {
	creds := config.Credentials{
		"acme": {"acme-key-0123456789"},
		"beta": {"beta-old-0123456789", "beta-new-0123456789"},
		"cora": {"cora-key-0123456789"},
		"dual": {"shared-key-0123456789"},
		"echo": {"echo-key-0123456789", "shared-key-0123456789"},
	}
	cases := []struct {
		name, account, key, want string
		verified                 []string // accounts whose secrets must each be verified exactly once
	}{
		{"plain route, first account", "", "acme-key-0123456789", "acme", []string{"acme", "beta", "cora", "dual", "echo"}},
		{"plain route, an account's second key", "", "beta-new-0123456789", "beta", []string{"acme", "beta", "cora", "dual", "echo"}},
		{"plain route, middle account", "", "cora-key-0123456789", "cora", []string{"acme", "beta", "cora", "dual", "echo"}},
		{"plain route, key of two accounts", "", "shared-key-0123456789", "dual", []string{"acme", "beta", "cora", "dual", "echo"}},
		{"plain route, unknown key", "", "nobody-0123456789", "", []string{"acme", "beta", "cora", "dual", "echo"}},
		{"account route, own key", "cora", "cora-key-0123456789", "cora", []string{"cora"}},
		{"account route, another account's key", "acme", "beta-new-0123456789", "", []string{"acme"}},
		{"account route, unknown account", "zulu", "acme-key-0123456789", "", nil},
	}
	for _, tc := range cases {
		calls := map[string]int{} // secrets verified → times
		verify := func(secrets []string) bool {
			calls[strings.Join(secrets, ",")]++
			return clickpost.VerifyKey(tc.key, secrets)
		}
		acc, ok := match(creds, tc.account, verify)
		if acc != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: matched %q %v, want %q", tc.name, acc, ok, tc.want)
		}
		want := map[string]int{}
		for _, a := range tc.verified {
			want[strings.Join(creds[a], ",")] = 1
		}
		if !maps.Equal(calls, want) {
			t.Errorf("%s: verified %v, want each of %v once", tc.name, calls, tc.verified)
		}
	}
}
