package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"orderflow/recovery"
	"orderflow/store"
)

func visaWindow(merchant, card string) store.CardWindow {
	return store.CardWindow{MerchantID: merchant, Card: card, Brand: recovery.Visa, Amount: 2500, Currency: "usd",
		Limit: recovery.NetworkLimit{Window: 30 * 24 * time.Hour, Max: 3, PerAmount: true}}
}

func TestCardSlotIsOnePerAttemptKey(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	w := visaWindow("m1", "fp_1")
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range 3 { // a retried activity reserves again under its key: still one count
		res, err := s.ReserveCardSlot(ctx, w, store.CardSlot{Key: "k1", InvoiceID: "inv_a", At: t0.Add(time.Duration(i) * time.Minute)})
		if err != nil || !res.Reserved {
			t.Fatalf("reserve k1 (try %d): %+v %v", i, res, err)
		}
	}
	slots, err := s.CardWindowSlots(ctx, w, t0.Add(time.Hour))
	if err != nil || len(slots) != 1 {
		t.Fatalf("slots after one key reserved three times: %+v %v", slots, err)
	}
	for i, key := range []string{"k2", "k3"} {
		if res, err := s.ReserveCardSlot(ctx, w, store.CardSlot{Key: key, InvoiceID: "inv_b", At: t0.Add(time.Duration(i+1) * time.Hour)}); err != nil || !res.Reserved {
			t.Fatalf("reserve %s: %+v %v", key, res, err)
		}
	}
	full, err := s.ReserveCardSlot(ctx, w, store.CardSlot{Key: "k4", InvoiceID: "inv_b", At: t0.Add(48 * time.Hour)})
	if err != nil || full.Reserved || !full.FreeAt.Equal(t0.Add(30*24*time.Hour)) {
		t.Fatalf("a fourth attempt in the window: %+v %v (want free at %v)", full, err, t0.Add(30*24*time.Hour))
	}
	// Once the oldest leaves the window, its slot is free.
	later, err := s.ReserveCardSlot(ctx, w, store.CardSlot{Key: "k4", InvoiceID: "inv_b", At: full.FreeAt})
	if err != nil || !later.Reserved {
		t.Fatalf("at the free time: %+v %v", later, err)
	}
	// Another amount is another window; releasing frees the slot.
	other := w
	other.Amount = 9900
	if res, err := s.ReserveCardSlot(ctx, other, store.CardSlot{Key: "k5", At: full.FreeAt}); err != nil || !res.Reserved {
		t.Fatalf("another amount: %+v %v", res, err)
	}
	if err := s.ReleaseCardSlot(ctx, w, "k4"); err != nil {
		t.Fatal(err)
	}
	slots, err = s.CardWindowSlots(ctx, w, full.FreeAt)
	if err != nil || len(slots) != 2 {
		t.Fatalf("after releasing k4 (k1 expired when k4 went in): %+v %v", slots, err)
	}
}

// Two invoices of one card charge at the same moment: only one takes the last slot.
func TestCardSlotRaceTakesTheLastSlotOnce(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	for round := range 5 {
		w := visaWindow("m1", fmt.Sprintf("fp_race_%d", round))
		for i := range 2 {
			if res, err := s.ReserveCardSlot(ctx, w, store.CardSlot{Key: fmt.Sprintf("pre%d", i), At: t0}); err != nil || !res.Reserved {
				t.Fatalf("prefill: %+v %v", res, err)
			}
		}
		const racers = 8
		results := make([]store.CardReservation, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = s.ReserveCardSlot(ctx, w, store.CardSlot{Key: fmt.Sprintf("inv%d-key", i), InvoiceID: fmt.Sprintf("inv%d", i), At: t0.Add(time.Hour)})
			}()
		}
		wg.Wait()
		won := 0
		for i := range racers {
			if errs[i] != nil {
				t.Fatalf("round %d racer %d: %v", round, i, errs[i])
			}
			if results[i].Reserved {
				won++
			}
		}
		slots, err := s.CardWindowSlots(ctx, w, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if won != 1 || len(slots) != 3 {
			t.Fatalf("round %d: %d racers took the last slot, the window holds %d (want 1 and 3)", round, won, len(slots))
		}
	}
}

func TestCardStopKeepsTheFirst(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	none, err := s.CardStopped(ctx, "m1", "fp_1")
	if err != nil || none != nil {
		t.Fatalf("no stop yet: %+v %v", none, err)
	}
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, rule := range []string{recovery.RuleVisaCategory1, recovery.RuleMastercardMAC03} {
		if err := s.StopCard(ctx, store.CardStop{MerchantID: "m1", Card: "fp_1", Rule: rule, InvoiceID: "inv_a", Key: "k1", At: at}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.CardStopped(ctx, "m1", "fp_1")
	if err != nil || st == nil || st.Rule != recovery.RuleVisaCategory1 || st.InvoiceID != "inv_a" {
		t.Fatalf("stop: %+v %v", st, err)
	}
	other, err := s.CardStopped(ctx, "m2", "fp_1")
	if err != nil || other != nil {
		t.Fatalf("another merchant's card is not stopped: %+v %v", other, err)
	}
}

// The billing platform's declined attempt counts in a full window too (it was
// made), once however often its event is reported, and fills the window for
// orderflow's next charge.
func TestCardAttemptCountsOncePastTheLimit(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	w := visaWindow("m1", "fp_platform")
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	for i, key := range []string{"platform:ev_1", "platform:ev_2", "platform:ev_1", "platform:ev_3", "platform:ev_4"} {
		if err := s.CountCardAttempt(ctx, w, store.CardSlot{Key: key, InvoiceID: "inv_a", At: t0.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatalf("count %s: %v", key, err)
		}
	}
	slots, err := s.CardWindowSlots(ctx, w, t0.Add(time.Hour))
	if err != nil || len(slots) != 4 {
		t.Fatalf("slots after four events, one reported twice: %+v %v", slots, err)
	}
	res, err := s.ReserveCardSlot(ctx, w, store.CardSlot{Key: "k1", InvoiceID: "inv_a", At: t0.Add(time.Hour)})
	if err != nil || res.Reserved {
		t.Fatalf("orderflow's charge after the platform's four declines (limit 3): %+v %v", res, err)
	}
}

func lease(card, key string, at time.Time) store.CardLease {
	return store.CardLease{MerchantID: "m1", Card: card, Key: key, InvoiceID: "inv_" + key, At: at, ExpiresAt: at.Add(2 * time.Minute)}
}

func takeLease(t *testing.T, s *store.Store, l store.CardLease) store.CardLeaseAnswer {
	t.Helper()
	res, err := s.TakeCardLease(context.Background(), l)
	if err != nil {
		t.Fatalf("take %s for %s: %v", l.Card, l.Key, err)
	}
	return res
}

func TestCardLeaseIsHeldByOneKey(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	if res := takeLease(t, s, lease("fp_1", "k1", t0)); !res.Taken {
		t.Fatalf("a free card: %+v", res)
	}
	// A retried activity finds its own lease, renewed from its new start.
	if res := takeLease(t, s, lease("fp_1", "k1", t0.Add(time.Minute))); !res.Taken {
		t.Fatalf("the holder again: %+v", res)
	}
	refused := takeLease(t, s, lease("fp_1", "k2", t0.Add(90*time.Second)))
	if refused.Taken || !refused.HeldUntil.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("another key while k1 holds the card: %+v, want held until %v", refused, t0.Add(3*time.Minute))
	}
	if res := takeLease(t, s, lease("fp_2", "k2", t0)); !res.Taken {
		t.Fatalf("another card is free: %+v", res)
	}
	// Only the holder lets the card go.
	if err := s.ReleaseCardLease(ctx, "m1", "fp_1", "k2"); err != nil {
		t.Fatal(err)
	}
	if holder, err := s.CardLeaseHolder(ctx, "m1", "fp_1", t0.Add(2*time.Minute)); err != nil || holder != "k1" {
		t.Fatalf("after another key's release the holder is %q (%v), want k1", holder, err)
	}
	if err := s.ReleaseCardLease(ctx, "m1", "fp_1", "k1"); err != nil {
		t.Fatal(err)
	}
	if res := takeLease(t, s, lease("fp_1", "k2", t0.Add(2*time.Minute))); !res.Taken {
		t.Fatalf("after k1 released: %+v", res)
	}
	// A holder that never releases (its worker died) loses the card when the lease expires.
	if res := takeLease(t, s, lease("fp_1", "k3", t0.Add(4*time.Minute-time.Second))); res.Taken {
		t.Fatalf("k3 before k2's lease expired: %+v", res)
	}
	if res := takeLease(t, s, lease("fp_1", "k3", t0.Add(4*time.Minute))); !res.Taken {
		t.Fatalf("k3 once k2's lease expired: %+v", res)
	}
	if holder, err := s.CardLeaseHolder(ctx, "m1", "fp_1", t0.Add(4*time.Minute)); err != nil || holder != "k3" {
		t.Fatalf("holder %q (%v), want k3", holder, err)
	}
}

// Invoices of one card charging at the same moment: exactly one holds the
// card, on a free card and on one whose last lease was just released.
func TestCardLeaseRaceHasOneHolder(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	card := "fp_lease_race"
	for round := range 6 {
		const racers = 8
		results := make([]store.CardLeaseAnswer, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = s.TakeCardLease(ctx, lease(card, fmt.Sprintf("r%d-k%d", round, i), t0))
			}()
		}
		wg.Wait()
		var winners []string
		for i := range racers {
			if errs[i] != nil {
				t.Fatalf("round %d racer %d: %v", round, i, errs[i])
			}
			if results[i].Taken {
				winners = append(winners, fmt.Sprintf("r%d-k%d", round, i))
			}
		}
		if len(winners) != 1 {
			t.Fatalf("round %d: %v hold the card, want exactly one", round, winners)
		}
		holder, err := s.CardLeaseHolder(ctx, "m1", card, t0)
		if err != nil || holder != winners[0] {
			t.Fatalf("round %d: holder %q (%v), winner %s", round, holder, err, winners[0])
		}
		if err := s.ReleaseCardLease(ctx, "m1", card, holder); err != nil {
			t.Fatal(err)
		}
	}
}
