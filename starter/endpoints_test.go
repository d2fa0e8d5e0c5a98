package starter

import (
	"io"
	"strings"
	"testing"
)

func TestParseEndpointRefusesZeroRateNamingIt(t *testing.T) {
	_, err := parseEndpoint([]string{"enable", "-kind", "crm_webhook", "-id", "abc", "-rate", "0"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "drain_rate_per_second") {
		t.Fatalf("rate 0: err %v, want one naming drain_rate_per_second", err)
	}
	a, err := parseEndpoint([]string{"enable", "-kind", "crm_webhook", "-id", "abc", "-rate", "2.5"}, io.Discard)
	if err != nil || !a.enable || a.rate != 2.5 || !a.rateWasSet || a.id != "abc" {
		t.Fatalf("parsed %+v, %v", a, err)
	}
	if _, err := parseEndpoint([]string{"show", "-kind", "crm_webhook"}, io.Discard); err == nil {
		t.Error("show without -id accepted")
	}
}
