package shiprocket

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: no track/awbs body makes Parse panic (flexInt and flexBool
// included), and an accepted one answers every asked AWB in order.
func FuzzParse(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "track_awbs.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, "19041123450001,19041123450002,19041123450003")
	f.Add([]byte(`{"1":{"tracking_data":{"track_status":"1","shipment_status":"9","is_return":"true","shipment_track":[{"current_timestamp":"x"}]}}}`), "1")
	f.Add([]byte(`{"1":{"tracking_data":{"track_status":0,"error":"Awb not found"}},"2":{}}`), "1,2")
	f.Fuzz(func(t *testing.T, body []byte, askedCSV string) {
		asked := strings.Split(askedCSV, ",")
		got, err := Parse(body, asked)
		if err != nil {
			return
		}
		if len(got) != len(asked) {
			t.Fatalf("asked %d AWBs, got %d", len(asked), len(got))
		}
		for i, s := range got {
			if s.AWB != asked[i] {
				t.Fatalf("answer %d is for %q, asked %q", i, s.AWB, asked[i])
			}
			if !s.Found && s.Raw != "" {
				t.Fatalf("AWB %q not found yet has status %q", s.AWB, s.Raw)
			}
		}
	})
}
