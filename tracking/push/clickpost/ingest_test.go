package clickpost

import (
	"testing"
	"time"

	"orderflow/tracking"
	"orderflow/tracking/push"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func parseCP(t *testing.T, body string) Event {
	t.Helper()
	ev, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestIngestKinds(t *testing.T) {
	cases := []struct {
		name     string
		body     string
		kind     string
		statuses []string
		refs     []push.OrderRef
	}{
		{"rto with a newer latest_status", `{"waybill":"W1","clickpost_status_code":21,"timestamp":"2026-11-20T10:00:00Z","additional":{"order_id":"o1","latest_status":{"clickpost_status_code":14,"timestamp":"2026-11-21T10:00:00Z"}}}`,
			push.KindStatus, []string{tracking.RTOInTransit, tracking.RTODelivered},
			[]push.OrderRef{{Field: push.OrderByAWB, Value: "W1"}, {Field: push.OrderByID, Value: "o1"}}},
		{"is_rvp on an RTO code", `{"waybill":"R1","clickpost_status_code":12,"timestamp":"2026-11-20T10:00:00Z","additional":{"is_rvp":true,"forward_awb":"W1"}}`,
			push.KindCustomerReturn, nil,
			[]push.OrderRef{{Field: push.OrderByAWB, Value: "W1"}, {Field: push.OrderByAWB, Value: "R1"}}},
		{"code 101 without is_rvp", `{"waybill":"","clickpost_status_code":101,"timestamp":"2026-11-20T10:00:00Z","additional":{"forward_awb":"W1"}}`,
			push.KindCustomerReturn, []string{tracking.Return}, []push.OrderRef{{Field: push.OrderByAWB, Value: "W1"}}},
		{"reverse pickup picked up", `{"waybill":"R1","clickpost_status_code":4,"timestamp":"2026-11-20T10:00:00Z","additional":{"is_rvp":true,"forward_awb":"W1"}}`,
			push.KindCustomerReturn, []string{tracking.Return},
			[]push.OrderRef{{Field: push.OrderByAWB, Value: "W1"}, {Field: push.OrderByAWB, Value: "R1"}}},
		{"reverse pickup delivered back", `{"waybill":"R1","clickpost_status_code":8,"timestamp":"2026-11-20T10:00:00Z","additional":{"is_rvp":true,"forward_awb":"W1"}}`,
			push.KindCustomerReturn, []string{tracking.Returned},
			[]push.OrderRef{{Field: push.OrderByAWB, Value: "W1"}, {Field: push.OrderByAWB, Value: "R1"}}},
		{"a code without a canonical status", `{"waybill":"W1","clickpost_status_code":19,"timestamp":"2026-11-20T10:00:00Z"}`,
			push.KindIgnored, nil, []push.OrderRef{{Field: push.OrderByAWB, Value: "W1"}}},
		{"test webhook", `{"test_url":"u","test_data":{"waybill":"","clickpost_status_code":101}}`, push.KindTest, nil, nil},
	}
	for _, tc := range cases {
		in := Ingest(parseCP(t, tc.body), "acme", "push:clickpost:acme:k", now)
		if in.EventID != "push:clickpost:acme:k" || in.Source != Source || in.Account != "acme" || !in.ReceivedAt.Equal(now) {
			t.Errorf("%s: identity %+v", tc.name, in)
		}
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
