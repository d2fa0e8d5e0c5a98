package recovery

import (
	"strings"
	"testing"
	"time"
)

func TestSlotFreeAtRollingWindow(t *testing.T) {
	t0 := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	at := func(h ...int) []time.Time {
		var out []time.Time
		for _, x := range h {
			out = append(out, t0.Add(time.Duration(x)*time.Hour))
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		attempts []time.Time
		max      int
		now      time.Time
		ok       bool
		freeAt   time.Time
	}{
		{"empty", nil, 1, t0, true, t0},
		{"under the limit", at(0, 1), 3, t0.Add(2 * time.Hour), true, t0.Add(2 * time.Hour)},
		{"full: the oldest frees the slot", at(0, 1, 2), 3, t0.Add(3 * time.Hour), false, t0.Add(day)},
		{"unsorted input", at(2, 0, 1), 3, t0.Add(3 * time.Hour), false, t0.Add(day)},
		{"an attempt leaves exactly window after it", at(0, 1, 2), 3, t0.Add(day), true, t0.Add(day)},
		{"expired attempts do not count", at(-30, 1, 2), 3, t0.Add(3 * time.Hour), true, t0.Add(3 * time.Hour)},
		{"over the limit (a smaller limit configured): enough must leave", at(0, 1, 2, 3), 2, t0.Add(4 * time.Hour), false, t0.Add(day + 2*time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			freeAt, ok := SlotFreeAt(tc.attempts, day, tc.max, tc.now)
			if ok != tc.ok || !freeAt.Equal(tc.freeAt) {
				t.Errorf("SlotFreeAt = %v, %v; want %v, %v", freeAt, ok, tc.freeAt, tc.ok)
			}
		})
	}
}

func TestNeverRetryRule(t *testing.T) {
	for _, tc := range []struct {
		d    NetworkDecline
		want string
	}{
		{NetworkDecline{Brand: "visa", DeclineCode: "stolen_card"}, RuleVisaCategory1},
		{NetworkDecline{Brand: "Visa", DeclineCode: "generic_decline", NetworkDeclineCode: "46"}, RuleVisaCategory1},
		{NetworkDecline{Brand: "visa", NetworkDeclineCode: "r1"}, RuleVisaCategory1},
		{NetworkDecline{Brand: "visa", DeclineCode: "insufficient_funds", NetworkDeclineCode: "51"}, ""},
		{NetworkDecline{Brand: "visa", DeclineCode: "some_new_code"}, ""}, // unknown: counted, not stopped
		{NetworkDecline{Brand: "mastercard", DeclineCode: "do_not_honor", NetworkAdviceCode: "03"}, RuleMastercardMAC03},
		{NetworkDecline{Brand: "mastercard", NetworkAdviceCode: "21"}, RuleMastercardMAC21},
		{NetworkDecline{Brand: "mastercard", NetworkAdviceCode: "3"}, RuleMastercardMAC03},
		{NetworkDecline{Brand: "mastercard", NetworkAdviceCode: "24"}, ""},
		{NetworkDecline{Brand: "mastercard", DeclineCode: "stolen_card"}, ""}, // Visa's categories are Visa's
		{NetworkDecline{Brand: "amex", NetworkAdviceCode: "03"}, ""},
	} {
		if got := NeverRetryRule(tc.d); got != tc.want {
			t.Errorf("NeverRetryRule(%+v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestNetworkRulesValidateNamesTheKey(t *testing.T) {
	if err := DefaultNetworkRules().Validate("network_rules.limits"); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		limits map[string][]NetworkLimit
		key    string
	}{
		{map[string][]NetworkLimit{"visa": {{Window: time.Hour, Max: 0}}}, "network_rules.limits.visa[0].max"},
		{map[string][]NetworkLimit{"mastercard": {{Window: time.Hour, Max: 1}, {Window: time.Hour, Max: -3}}}, "network_rules.limits.mastercard[1].max"},
		{map[string][]NetworkLimit{"visa": {{Window: 0, Max: 1}}}, "network_rules.limits.visa[0].window"},
		{map[string][]NetworkLimit{"vissa": {{Window: time.Hour, Max: 1}}}, "network_rules.limits.vissa"},
	} {
		err := NetworkRules{Enabled: true, Limits: tc.limits}.Validate("network_rules.limits")
		if err == nil || !strings.HasPrefix(err.Error(), tc.key+":") {
			t.Errorf("Validate(%v) = %v, want an error naming %s", tc.limits, err, tc.key)
		}
	}
}

func TestLimitNames(t *testing.T) {
	l := DefaultNetworkRules().Limits
	if got := l[Visa][0].Name(Visa); got != "visa_720h_amount" {
		t.Errorf("visa: %q", got)
	}
	if got := l[Mastercard][0].Name(Mastercard); got != "mastercard_24h" {
		t.Errorf("mastercard: %q", got)
	}
	if got := (NetworkLimit{Window: 90 * time.Minute, Max: 1}).Name("amex"); got != "amex_1h30m" {
		t.Errorf("amex: %q", got)
	}
}

func TestPolicySpan(t *testing.T) {
	cascading := Policy{Algorithm: Cascading, Cascading: DefaultCascading}
	if got, want := cascading.Span(), 60*time.Second+141*time.Hour; got != want {
		t.Errorf("default cascading span %v, want %v", got, want)
	}
	capped := cascading
	capped.MaxRetryCount, capped.MaxJitter = 2, time.Minute
	if got, want := capped.Span(), 60*time.Second+2*(3*time.Hour+time.Minute); got != want {
		t.Errorf("capped span %v, want %v", got, want)
	}
	// Smart's 8 retries at their longest waits: insufficient funds' 24 h, 48 h, then 72 h.
	if got, want := (Policy{Algorithm: Smart}).Span(), (24+48+6*72)*time.Hour; got != want {
		t.Errorf("smart span %v, want %v", got, want)
	}
	if got := (Policy{Algorithm: Monitoring}).Span(); got != 0 {
		t.Errorf("monitoring span %v", got)
	}
}
