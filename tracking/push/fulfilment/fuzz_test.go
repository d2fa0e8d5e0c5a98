package fulfilment

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: no body makes Parse panic, and an accepted event carries what
// the ingress relies on: an order change with a code, a target status and a
// parseable time, or a stock change whose every row is complete.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"docs_order_change_status.json", "docs_sku_change_stock.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"event":"ORDER.CHANGE_STATUS","payload":{"order":{"code":"dh07060099","updated_at":"2022-06-07T09:55:58.000000Z"},"to_status":"RETURN"}}`))
	f.Add([]byte(`{"event":"SKU.CHANGE_STOCK","payload":{"product_code":"ABC","stocks":[{"stock":{"updated_at":"2022-06-06T10:35:13Z"}}]}}`))
	f.Add([]byte(`{"event":"OTHER","payload":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Parse(body)
		if err != nil {
			return
		}
		if ev.Name == "" || (ev.Order != nil && ev.Stock != nil) {
			t.Fatalf("accepted %q as %+v", body, ev)
		}
		if o := ev.Order; o != nil {
			if _, err := ParseTime(o.Order.UpdatedAt); err != nil || o.Order.Code == "" || o.ToStatus == "" {
				t.Fatalf("accepted an incomplete order change: %q", body)
			}
			_, _ = Canonical(o.ToStatus)
		}
		if s := ev.Stock; s != nil {
			levels := s.Levels()
			if len(levels) == 0 || len(levels) != len(s.Stocks) {
				t.Fatalf("stock change %q has %d levels", body, len(levels))
			}
			for _, l := range levels {
				if l.WarehouseCode == "" {
					t.Fatalf("accepted an incomplete stock row: %+v", l)
				}
			}
		}
	})
}

// FuzzSignature: a body signed with a secret verifies under it (also while a
// second secret is valid), never under another secret, and a header that is
// not the signature never verifies; X-Event-Delivery is an integer or refused.
func FuzzSignature(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "docs_order_change_status.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, "whsec-test-0123456789", "whsec-old-9876543210", "39497c09", "42")
	f.Add([]byte(`{"event":"ORDER.CHANGE_STATUS","payload":{}}`), "s", "", "", " 7 ")
	f.Fuzz(func(t *testing.T, body []byte, secret, other, header, delivery string) {
		sig := Sign(body, secret)
		if !Verify(body, sig, []string{other, secret}) {
			t.Fatalf("own signature refused")
		}
		if other != secret && Verify(body, sig, []string{other}) {
			t.Fatalf("signature under %q verified under %q", secret, other)
		}
		if Verify(body, header, []string{secret}) != (strings.ToLower(strings.TrimSpace(header)) == sig) {
			t.Fatalf("header %q judged wrongly against %q", header, sig)
		}
		if d, err := ParseDelivery(delivery); err == nil {
			if again, err := ParseDelivery(d); err != nil || again != d {
				t.Fatalf("delivery %q normalised to %q, which does not round-trip", delivery, d)
			}
		}
	})
}
