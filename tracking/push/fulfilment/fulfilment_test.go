package fulfilment

import (
	"crypto/subtle"
	"reflect"
	"strings"
	"testing"
	"time"

	"orderflow/tracking"
)

// Vectors computed independently with coreutils:
//
//	printf '%s' '<body><secret>' | sha256sum
var vectors = []struct{ body, secret, sig string }{
	{`{"event":"ORDER.CHANGE_STATUS","payload":{}}`, "whsec-test-0123456789", "39497c096907a3ed224fa04684037f887f8d6a51407a1eadd27f59c687f5b006"},
	{"hello", "", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"},
	{"hello", "secret", "85e76456e64bed8bf17e43ba99aa01d296e7d7ecc626ccc2d2132388c9f12159"},
	{`{"event":"ORDER.CHANGE_STATUS","payload":{"order":{"code":"dh07060099","updated_at":"2022-06-07T09:55:58.000000Z"},"to_status":"RETURN"}}`,
		"fulfil-secret-ÄÖ-0123", "f7bfd1f8397128c9dd68da9f2b58ea62977c5c4525fd6617a6ddfe1467072508"},
}

func TestSignMatchesIndependentVectors(t *testing.T) {
	for _, v := range vectors {
		if got := Sign([]byte(v.body), v.secret); got != v.sig {
			t.Errorf("Sign(%q, %q) = %s, want %s", v.body, v.secret, got, v.sig)
		}
	}
}

func TestVerify(t *testing.T) {
	v := vectors[0]
	body := []byte(v.body)
	cases := []struct {
		name    string
		sig     string
		secrets []string
		want    bool
	}{
		{"right secret", v.sig, []string{v.secret}, true},
		{"upper-case hex", strings.ToUpper(v.sig), []string{v.secret}, true},
		{"second secret during rotation", v.sig, []string{"old-secret-0123456789", v.secret}, true},
		{"wrong secret", v.sig, []string{"other-secret-0123456"}, false},
		{"no secrets", v.sig, nil, false},
		{"truncated signature", v.sig[:63], []string{v.secret}, false},
		{"empty signature", "", []string{v.secret}, false},
		{"one bit off", v.sig[:63] + "7", []string{v.secret}, false},
	}
	for _, tc := range cases {
		if got := Verify(body, tc.sig, tc.secrets); got != tc.want {
			t.Errorf("%s: Verify = %v, want %v", tc.name, got, tc.want)
		}
	}
	if Verify([]byte(v.body+" "), v.sig, []string{v.secret}) {
		t.Error("a changed body verified")
	}
}

func TestStatusTable(t *testing.T) {
	want := map[string]string{
		"WAITING_INSPECTION": tracking.Pending, "WAITING_CONFIRM": tracking.Pending, "WAITING_PROCESSING": tracking.Pending,
		"WAITING_PICKING": tracking.Booked, "WAITING_PACKING": tracking.Booked, "WAITING_DELIVERY": tracking.Booked,
		"DELIVERING": tracking.InTransit, "PART_DELIVERED": tracking.Delivered, "DELIVERED": tracking.Delivered,
		"FINISH": tracking.Delivered, "CANCELED": tracking.Cancelled, "RETURN": tracking.RTO,
		"RETURN_COMPLETED": tracking.RTODelivered, "FAILED_DELIVERY": tracking.NDR,
	}
	for code, status := range want {
		got, ok := Canonical(code)
		if !ok || got != status {
			t.Errorf("%s → %q (%v), want %q", code, got, ok, status)
		}
	}
	if len(statusByCode) != len(want) {
		t.Errorf("table has %d statuses, the fulfilment platform's docs list %d", len(statusByCode), len(want))
	}
	for _, rto := range []string{"RETURN", "RETURN_COMPLETED"} {
		if s, _ := Canonical(rto); !tracking.IsRTO(s) {
			t.Errorf("%s must be in the RTO family", rto)
		}
	}
	if _, ok := Canonical("SHIPPED_TO_MARS"); ok {
		t.Error("an unknown status must not be guessed")
	}
}

func TestParse(t *testing.T) {
	good := `{"event":"ORDER.CHANGE_STATUS","payload":{"order":{"id":5342,"code":"dh07060099","status":"RETURN","updated_at":"2022-06-07T09:55:58.000000Z"},"merchant_code":"XYZ","from_status":"DELIVERING","to_status":"RETURN"}}`
	ev, err := Parse([]byte(good))
	if err != nil || ev.Order == nil || ev.Order.Order.Code != "dh07060099" || ev.Order.ToStatus != "RETURN" {
		t.Fatalf("good order change: %+v, %v", ev, err)
	}
	stock := `{"event":"SKU.CHANGE_STOCK","payload":{"product_code":"ABC","merchant_code":"XYZ","stocks":[{"stock":{"id":543,"warehouse_area_id":61,"quantity":1,"updated_at":"2022-06-06T10:35:13.000000Z"},"warehouse_code":"XYZ"}]}}`
	if ev, err := Parse([]byte(stock)); err != nil || ev.Stock == nil || ev.Stock.Stocks[0].Stock.Quantity != 1 {
		t.Fatalf("good stock change: %+v, %v", ev, err)
	}
	for name, body := range map[string]string{
		"not json":       `{"event":`,
		"no event":       `{"payload":{}}`,
		"no order code":  `{"event":"ORDER.CHANGE_STATUS","payload":{"order":{"updated_at":"2022-06-07T09:55:58Z"},"to_status":"RETURN"}}`,
		"no to_status":   `{"event":"ORDER.CHANGE_STATUS","payload":{"order":{"code":"a","updated_at":"2022-06-07T09:55:58Z"}}}`,
		"bad time":       `{"event":"ORDER.CHANGE_STATUS","payload":{"order":{"code":"a","updated_at":"yesterday"},"to_status":"RETURN"}}`,
		"stock no items": `{"event":"SKU.CHANGE_STOCK","payload":{"product_code":"ABC","stocks":[]}}`,
		"stock no wh":    `{"event":"SKU.CHANGE_STOCK","payload":{"product_code":"ABC","stocks":[{"stock":{"updated_at":"2022-06-06T10:35:13Z"}}]}}`,
		"no payload":     `{"event":"ORDER.CHANGE_STATUS"}`,
		"python True":    `{"event":"ORDER.CHANGE_STATUS","payload":{"order":{"code":"a","updated_at":"2022-06-07T09:55:58Z","inspected":True},"to_status":"RETURN"}}`,
	} {
		if _, err := Parse([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Verify compares with subtle.ConstantTimeCompare and tries every secret,
// even when the first one matches: no early exit tells which secret matched.
func TestVerifyIsConstantTimeOverEverySecret(t *testing.T) {
	if reflect.ValueOf(constantTimeEqual).Pointer() != reflect.ValueOf(subtle.ConstantTimeCompare).Pointer() {
		t.Fatal("Verify must compare with subtle.ConstantTimeCompare")
	}
	var compared int
	constantTimeEqual = func(a, b []byte) int { compared++; return subtle.ConstantTimeCompare(a, b) }
	defer func() { constantTimeEqual = subtle.ConstantTimeCompare }()
	v := vectors[0]
	if !Verify([]byte(v.body), v.sig, []string{v.secret, "second-secret-0123456789"}) {
		t.Fatal("the first secret did not verify")
	}
	if compared != 2 {
		t.Errorf("compared %d secrets, want both (no early exit)", compared)
	}
}

func TestStockLevelsKeepEveryAreaRow(t *testing.T) {
	body := `{"event":"SKU.CHANGE_STOCK","payload":{"product_code":"ABC","merchant_code":"XYZ","stocks":[
	{"stock":{"id":543,"product_id":29,"sku_id":189,"warehouse_id":25,"warehouse_area_id":61,"quantity":1,"real_quantity":1,"updated_at":"2022-06-06T10:35:13.000000Z"},"warehouse_code":"XYZ"},
	{"stock":{"id":544,"product_id":29,"sku_id":189,"warehouse_id":25,"warehouse_area_id":63,"quantity":0,"real_quantity":1,"updated_at":"2022-06-07T10:50:23.000000Z"},"warehouse_code":"XYZ"}]}}`
	ev, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	levels := ev.Stock.Levels()
	if len(levels) != 2 || levels[0].WarehouseAreaID != 61 || levels[1].Quantity != 0 || levels[0].Quantity != 1 {
		t.Fatalf("levels %+v", levels)
	}
	if want := time.Date(2022, 6, 7, 10, 50, 23, 0, time.UTC); !levels[1].UpdatedAt.Equal(want) {
		t.Errorf("updated_at %v, want %v", levels[1].UpdatedAt, want)
	}
}

func TestParseDelivery(t *testing.T) {
	if got, err := ParseDelivery(" 1024 "); err != nil || got != "1024" {
		t.Errorf("ParseDelivery(1024) = %q, %v", got, err)
	}
	for _, bad := range []string{"", "abc", "-1", "1.5", "12a"} {
		if _, err := ParseDelivery(bad); err == nil {
			t.Errorf("ParseDelivery(%q) accepted", bad)
		}
	}
}
