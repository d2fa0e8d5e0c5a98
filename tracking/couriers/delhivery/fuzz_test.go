package delhivery

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: no packages/json body makes Parse panic, and an accepted one
// answers every asked waybill, in order, with nothing invented for the rest.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"track_mixed.json", "not_found.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "57930810000066,57930810000073,57930810000080,57930810009999")
	}
	f.Add([]byte(`{"ShipmentData":[{"Shipment":{"AWB":"1","Status":{"Status":"RTO","StatusType":"RT","StatusDateTime":"2026-08-24 23:58:39"}}}]}`), "1")
	f.Add([]byte(`{"Success":true}`), "1")
	f.Fuzz(func(t *testing.T, body []byte, askedCSV string) {
		asked := strings.Split(askedCSV, ",")
		got, err := Parse(body, asked)
		if err != nil {
			return
		}
		if len(got) != len(asked) {
			t.Fatalf("asked %d waybills, got %d", len(asked), len(got))
		}
		for i, s := range got {
			if s.AWB != asked[i] {
				t.Fatalf("answer %d is for %q, asked %q", i, s.AWB, asked[i])
			}
			if !s.Found && (s.Raw != "" || !s.EventTime.IsZero()) {
				t.Fatalf("waybill %q not found yet has data: %+v", s.AWB, s)
			}
		}
	})
}
