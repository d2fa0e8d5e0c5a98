package netcheck

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func attempt(at time.Duration, brand string, amount int64, approved bool, response, advice string) Attempt {
	return Attempt{At: t0.Add(at), Card: "card-1", Brand: brand, Amount: amount, Currency: "USD", Origin: Merchant,
		Approved: approved, ResponseCode: response, AdviceCode: advice}
}

// every makes n declined attempts, step apart from start.
func every(n int, start, step time.Duration, brand string, amount int64) []Attempt {
	var out []Attempt
	for i := range n {
		out = append(out, attempt(start+time.Duration(i)*step, brand, amount, false, "05", ""))
	}
	return out
}

func rules(vs []Violation) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.Rule)
	}
	return out
}

func TestFlagsViolatingSequences(t *testing.T) {
	for name, tc := range map[string]struct {
		log  []Attempt
		want []string
	}{
		"visa: an attempt after Category 1 (43 stolen)": {
			log:  []Attempt{attempt(0, Visa, 1000, false, "43", ""), attempt(time.Hour, Visa, 2000, false, "05", "")},
			want: []string{VisaCategory1},
		},
		"visa: the 16th reattempt on one card and amount in 30 days": {
			log:  every(17, 0, 24*time.Hour, Visa, 1000),
			want: []string{VisaReattempts},
		},
		"mastercard: an attempt after advice code 21": {
			log:  []Attempt{attempt(0, Mastercard, 1000, false, "05", "21"), attempt(48*time.Hour, Mastercard, 1000, true, "", "")},
			want: []string{MastercardNeverRetry},
		},
		"mastercard: an attempt after 10 declines in 24 hours": {
			log:  every(11, 0, 2*time.Hour, Mastercard, 1000),
			want: []string{MastercardDeclines24h},
		},
		"mastercard: an attempt after 35 declines in 30 days": {
			log:  every(36, 0, 12*time.Hour+time.Minute, Mastercard, 1000),
			want: []string{MastercardDeclines30d},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := rules(Check(tc.log, false))
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("violations %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAcceptsCompliantSequences(t *testing.T) {
	for name, log := range map[string][]Attempt{
		"visa: 15 reattempts in 30 days, then more after the window": append(every(16, 0, 24*time.Hour, Visa, 1000),
			attempt(46*24*time.Hour, Visa, 1000, false, "05", "")),
		"visa: 15 reattempts for each of two amounts": append(every(16, 0, time.Hour, Visa, 1000), every(16, 30*time.Minute, time.Hour, Visa, 2500)...),
		"visa: an approval ends the reattempts": append(append(every(10, 0, time.Hour, Visa, 1000),
			attempt(10*time.Hour, Visa, 1000, true, "00", "")), every(12, 11*time.Hour, time.Hour, Visa, 1000)...),
		"visa: a Category 2 decline (51) then retries":        {attempt(0, Visa, 1000, false, "51", ""), attempt(24*time.Hour, Visa, 1000, true, "", "")},
		"mastercard: 10 declines in 24 hours, the next after": append(every(10, 0, 2*time.Hour, Mastercard, 1000), attempt(24*time.Hour, Mastercard, 1000, false, "05", "")),
		"mastercard: advice code 01 (update the card details) allows a retry": {attempt(0, Mastercard, 1000, false, "54", "01"),
			attempt(time.Hour, Mastercard, 1000, false, "54", "01")},
		"mastercard: a Category 1 response code is Visa's rule, not Mastercard's": {attempt(0, Mastercard, 1000, false, "43", ""),
			attempt(time.Hour, Mastercard, 1000, true, "", "")},
		"the merchant's attempts are judged, not the platform's": {{At: t0, Card: "card-1", Brand: Visa, Origin: Platform, ResponseCode: "43"},
			{At: t0.Add(time.Hour), Card: "card-1", Brand: Visa, Origin: Platform, ResponseCode: "43"}},
	} {
		t.Run(name, func(t *testing.T) {
			if got := Check(log, true); len(got) != 0 {
				t.Fatalf("violations %q in a compliant log", rules(got))
			}
		})
	}
}

func TestPlatformAttemptsCountOnlyWhenAsked(t *testing.T) {
	log := []Attempt{
		{At: t0, Card: "card-1", Brand: Mastercard, Origin: Platform, ResponseCode: "05", AdviceCode: "03"},
		attempt(time.Hour, Mastercard, 1000, false, "05", ""),
	}
	if got := Check(log, false); len(got) != 0 {
		t.Errorf("without the platform's attempts: %q, want none", rules(got))
	}
	if got := rules(Check(log, true)); len(got) != 1 || got[0] != MastercardNeverRetry {
		t.Errorf("with the platform's attempts: %q, want the merchant's charge after MAC 03", got)
	}
}

// The counter is a check on orderflow's rule code only while it shares none of it.
func TestImportsNothingOfOrderflow(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files: %v", err)
	}
	for _, f := range files {
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(path, "orderflow") {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}
