package bench

import (
	"strings"
	"testing"
)

func TestParseProcStatReadsTimesAfterACommandNameWithParentheses(t *testing.T) {
	// A real line's shape: comm may hold spaces and ')', fields count from the last ')'.
	line := "4242 (my (odd) name) S 17 4242 17 0 -1 4194560 500 0 0 0 1234 56 78 9 20 0 12 0 100 1000000 2000 18446744073709551615"
	p, err := parseProcStat(line)
	if err != nil {
		t.Fatal(err)
	}
	want := procStat{PID: 4242, PPID: 17, Comm: "my (odd) name", Self: 1234 + 56, Children: 78 + 9}
	if p != want {
		t.Fatalf("parsed %+v, want %+v", p, want)
	}
}

func TestParseProcStatRefusesMalformedLines(t *testing.T) {
	for _, line := range []string{"", "12 comm S 1", "x (a) S 1 2 3", "12 (a) S 1 2 3"} {
		if _, err := parseProcStat(line); err == nil {
			t.Errorf("%q parsed without an error", line)
		}
	}
}

func TestClassifyCPUSplitsTheBenchTreeAndPostgres(t *testing.T) {
	procs := []procStat{
		{PID: 1, PPID: 0, Comm: "init", Self: 999},
		{PID: 10, PPID: 1, Comm: "bench", Self: 500, Children: 40},
		{PID: 11, PPID: 10, Comm: "temporal", Self: 300},
		{PID: 12, PPID: 10, Comm: "worker", Self: 70},
		{PID: 13, PPID: 10, Comm: "worker", Self: 30, Children: 5},
		{PID: 14, PPID: 10, Comm: "go", Self: 2},
		{PID: 20, PPID: 1, Comm: "postgres", Self: 100, Children: 900},
		{PID: 21, PPID: 20, Comm: "postgres", Self: 250},
		{PID: 30, PPID: 1, Comm: "unrelated", Self: 5000},
	}
	got := classifyCPU(procs, 10, 20)
	want := map[string]int64{cpuBench: 500, cpuReaped: 40, cpuDevServer: 300, cpuWorkers: 105, cpuOther: 2, cpuPostgres: 1250}
	if len(got) != len(want) {
		t.Fatalf("classes %v, want %v", got, want)
	}
	for class, ticks := range want {
		if got[class] != ticks {
			t.Errorf("%s: %d ticks, want %d", class, got[class], ticks)
		}
	}
}

func TestCPUDeltaIsInSecondsLargestFirstAndDropsIdleClasses(t *testing.T) {
	before := map[string]int64{cpuBench: 100, cpuDevServer: 50, cpuOther: 7}
	after := map[string]int64{cpuBench: 400, cpuDevServer: 550, cpuOther: 7, cpuWorkers: 10}
	got := cpuDelta(before, after)
	want := []ProcessCPU{{cpuDevServer, 5}, {cpuBench, 3}, {cpuWorkers, 0.1}}
	if len(got) != len(want) {
		t.Fatalf("delta %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestSlugNamesARowFileAfterItsNameUpToTheColon(t *testing.T) {
	got := slug("Rate limit: 30,000 Delhivery B2C orders")
	if got != "rate-limit" || strings.ContainsAny(got, " :,") {
		t.Fatalf("slug %q, want rate-limit", got)
	}
}
