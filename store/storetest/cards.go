// Package storetest holds in-memory stand-ins for parts of the store, for
// unit tests of the code above it. Each keeps the rules of the store it
// stands in for; the store's own tests run the real one on FerretDB.
package storetest

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"orderflow/recovery"
	"orderflow/store"
)

// Cards is an in-memory activities.CardCounters: card-network windows,
// stopped cards and per-card leases, as the store keeps them
// (store/networkrules_test.go).
type Cards struct {
	mu     sync.Mutex
	slots  map[string][]store.CardSlot // window id → its counted attempts
	stops  map[string]store.CardStop   // merchant|card → the first stop
	leases map[string]store.CardLease  // merchant|card → the charge holding it
}

// NewCards returns counters with nothing counted, stopped or leased.
func NewCards() *Cards {
	return &Cards{slots: map[string][]store.CardSlot{}, stops: map[string]store.CardStop{}, leases: map[string]store.CardLease{}}
}

func cardKey(merchantID, card string) string { return merchantID + "|" + card }

// ReserveCardSlot counts the attempt in its window unless the window is
// full; a retried reservation (the same key) finds its own.
func (c *Cards) ReserveCardSlot(_ context.Context, w store.CardWindow, slot store.CardSlot) (store.CardReservation, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var live []time.Time
	for _, s := range c.slots[w.ID()] {
		if s.At.Add(w.Limit.Window).After(slot.At) {
			if s.Key == slot.Key {
				return store.CardReservation{Reserved: true}, nil
			}
			live = append(live, s.At)
		}
	}
	if freeAt, ok := recovery.SlotFreeAt(live, w.Limit.Window, w.Limit.Max, slot.At); !ok {
		return store.CardReservation{FreeAt: freeAt}, nil
	}
	c.slots[w.ID()] = append(c.slots[w.ID()], slot)
	return store.CardReservation{Reserved: true}, nil
}

// CountCardAttempt counts an attempt whatever the window holds (once per key).
func (c *Cards) CountCardAttempt(_ context.Context, w store.CardWindow, slot store.CardSlot) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.ContainsFunc(c.slots[w.ID()], func(s store.CardSlot) bool { return s.Key == slot.Key }) {
		c.slots[w.ID()] = append(c.slots[w.ID()], slot)
	}
	return nil
}

// ReleaseCardSlot frees the slot of an attempt that never reached the processor.
func (c *Cards) ReleaseCardSlot(_ context.Context, w store.CardWindow, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slots[w.ID()] = slices.DeleteFunc(c.slots[w.ID()], func(s store.CardSlot) bool { return s.Key == key })
	return nil
}

// StopCard records a card's stop; the first one stands.
func (c *Cards) StopCard(_ context.Context, st store.CardStop) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.stops[cardKey(st.MerchantID, st.Card)]; !ok {
		c.stops[cardKey(st.MerchantID, st.Card)] = st
	}
	return nil
}

// CardStopped is the card's stop, or nil.
func (c *Cards) CardStopped(_ context.Context, merchantID, card string) (*store.CardStop, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stops[cardKey(merchantID, card)]; ok {
		return &st, nil
	}
	return nil, nil
}

// TakeCardLease lets one charge at a time hold the card: another key is
// refused until the holder releases it or its lease expires.
func (c *Cards) TakeCardLease(_ context.Context, l store.CardLease) (store.CardLeaseAnswer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	held, ok := c.leases[cardKey(l.MerchantID, l.Card)]
	if ok && held.Key != l.Key && held.ExpiresAt.After(l.At) {
		return store.CardLeaseAnswer{HeldUntil: held.ExpiresAt}, nil
	}
	c.leases[cardKey(l.MerchantID, l.Card)] = l
	return store.CardLeaseAnswer{Taken: true}, nil
}

// ReleaseCardLease ends the lease key holds, if it still holds it.
func (c *Cards) ReleaseCardLease(_ context.Context, merchantID, card, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if held, ok := c.leases[cardKey(merchantID, card)]; ok && held.Key == key {
		delete(c.leases, cardKey(merchantID, card))
	}
	return nil
}

// Counted is how many attempts a window holds.
func (c *Cards) Counted(w store.CardWindow) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.slots[w.ID()])
}

// Prefill counts attempts another invoice made on the card at the given times.
func (c *Cards) Prefill(w store.CardWindow, at ...time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, t := range at {
		c.slots[w.ID()] = append(c.slots[w.ID()], store.CardSlot{Key: "other-invoice-" + string(rune('a'+i)), InvoiceID: "inv_other", At: t})
	}
}

// Leased lists the leases held, by merchant|card.
func (c *Cards) Leased() map[string]store.CardLease {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.leases)
}
