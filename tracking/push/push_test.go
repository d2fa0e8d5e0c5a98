package push

import (
	"testing"
	"time"
)

func TestOrderRefsKeepsThePairsWithAValueInOrder(t *testing.T) {
	got := OrderRefs(OrderByAWB, "W1", OrderByID, "", OrderByFulfilmentCode, "C1", "dangling")
	if len(got) != 2 || got[0] != (OrderRef{OrderByAWB, "W1"}) || got[1] != (OrderRef{OrderByFulfilmentCode, "C1"}) {
		t.Errorf("refs %+v", got)
	}
}

func TestNewestScanIsTheLatestWhateverItsPlace(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	if _, ok := (Event{}).NewestScan(); ok {
		t.Error("an event without scans has a newest scan")
	}
	ev := Event{Scans: []Scan{{"rto", t0.Add(time.Hour)}, {"rto delivered", t0.Add(2 * time.Hour)}, {"in transit", t0}}}
	if s, ok := ev.NewestScan(); !ok || s.Status != "rto delivered" {
		t.Errorf("newest %+v %v", s, ok)
	}
}
