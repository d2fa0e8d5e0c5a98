package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orderflow/recovery"
)

// CardNetworkCountersCollection holds the card networks' retry counters: one
// document per attempt counted in a rolling window of a (merchant, card
// [, amount]) — a "slot" —, one per (merchant, card) that a never-retry
// decline stopped, and the leases that keep one charge in flight per card.
const CardNetworkCountersCollection = "card_network_counters"

// CardWindow names one rolling window of one card at one merchant.
type CardWindow struct {
	MerchantID string
	Card       string // the card's fingerprint, or its payment method's id
	Limit      recovery.NetworkLimit
	Brand      string
	// Amount and Currency set the window apart per amount when Limit.PerAmount.
	Amount   int64
	Currency string
}

// ID names the window; its slots carry it as window_id.
func (w CardWindow) ID() string {
	id := w.MerchantID + "|" + w.Card + "|" + w.Limit.Name(w.Brand)
	if w.Limit.PerAmount {
		id += fmt.Sprintf("|%d%s", w.Amount, w.Currency)
	}
	return id
}

// CardSlot is one attempt counted in a window, under the attempt's
// idempotency key: an activity retried with the same key finds its own slot.
type CardSlot struct {
	Key       string    `bson:"key" json:"key"`
	InvoiceID string    `bson:"invoice_id" json:"invoice_id"`
	At        time.Time `bson:"at" json:"at"`
}

// cardSlotDoc is a slot as stored. Its _id is the window's id and the slot's
// sequence number in the window: taking a slot is inserting the next number,
// so of two attempts that read the same state only one insert succeeds (a
// unique _id is atomic on MongoDB and on FerretDB, which has no transactions
// and whose conditional updates are not atomic under concurrency). Numbers
// are never reused: a released slot is marked, and only expired slots below
// the newest are deleted.
type cardSlotDoc struct {
	ID         string    `bson:"_id"`
	Kind       string    `bson:"kind"` // "slot"
	WindowID   string    `bson:"window_id"`
	Seq        int64     `bson:"seq"`
	MerchantID string    `bson:"merchant_id"`
	Card       string    `bson:"card"`
	Rule       string    `bson:"rule"`
	Amount     int64     `bson:"amount,omitempty"`
	Currency   string    `bson:"currency,omitempty"`
	Key        string    `bson:"key"`
	InvoiceID  string    `bson:"invoice_id"`
	At         time.Time `bson:"at"`
	ExpiresAt  time.Time `bson:"expires_at"`
	Released   bool      `bson:"released"`
}

// CardReservation is the answer of ReserveCardSlot.
type CardReservation struct {
	Reserved bool
	// FreeAt is when the window next has a free slot, when not Reserved.
	FreeAt time.Time
}

// maxCardSlotTries bounds the reservation loop: each lost race means another
// attempt took a slot of this very window, so few are ever needed.
const maxCardSlotTries = 50

// ReserveCardSlot counts the attempt slot.Key in the window if the window's
// limit allows one more at slot.At: it reads the window's slots, counts those
// unreleased and not expired, and inserts the next sequence number; an insert
// that loses the number to another attempt reads again. A key already holding
// a slot in the window is that reservation, not a new one.
func (s *Store) ReserveCardSlot(ctx context.Context, w CardWindow, slot CardSlot) (CardReservation, error) {
	for range maxCardSlotTries {
		slots, err := s.windowSlots(ctx, w.ID())
		if err != nil {
			return CardReservation{}, err
		}
		live := liveSlots(slots, slot.At)
		if slices.ContainsFunc(live, func(o cardSlotDoc) bool { return o.Key == slot.Key }) {
			return CardReservation{Reserved: true}, nil
		}
		if freeAt, ok := recovery.SlotFreeAt(slotTimes(live), w.Limit.Window, w.Limit.Max, slot.At); !ok {
			return CardReservation{FreeAt: freeAt}, nil
		}
		next := int64(0)
		if len(slots) > 0 {
			next = slots[len(slots)-1].Seq + 1
		}
		inserted, err := s.insertCardSlot(ctx, w, slot, next)
		if err != nil {
			return CardReservation{}, err
		}
		if inserted {
			s.pruneCardSlots(ctx, w.ID(), next, slot.At)
			return CardReservation{Reserved: true}, nil
		}
	}
	return CardReservation{}, fmt.Errorf("%s: %s: too many concurrent attempts on one window", CardNetworkCountersCollection, w.ID())
}

// CountCardAttempt counts an attempt made elsewhere — the billing platform's
// own declined charge — in the window, whatever the window's limit: it was
// made, and the networks count it. A key already in the window (released or
// expired alike) is that attempt, counted once however often it is reported.
func (s *Store) CountCardAttempt(ctx context.Context, w CardWindow, slot CardSlot) error {
	for range maxCardSlotTries {
		slots, err := s.windowSlots(ctx, w.ID())
		if err != nil {
			return err
		}
		if slices.ContainsFunc(slots, func(o cardSlotDoc) bool { return o.Key == slot.Key }) {
			return nil
		}
		next := int64(0)
		if len(slots) > 0 {
			next = slots[len(slots)-1].Seq + 1
		}
		inserted, err := s.insertCardSlot(ctx, w, slot, next)
		if err != nil {
			return err
		}
		if inserted {
			s.pruneCardSlots(ctx, w.ID(), next, slot.At)
			return nil
		}
	}
	return fmt.Errorf("%s: %s: too many concurrent attempts on one window", CardNetworkCountersCollection, w.ID())
}

// ReleaseCardSlot uncounts the attempt key's slot (a charge that succeeded is
// no decline to count, or a reservation undone because another window of the
// card refused).
func (s *Store) ReleaseCardSlot(ctx context.Context, w CardWindow, key string) error {
	_, err := s.coll(CardNetworkCountersCollection).UpdateMany(ctx,
		bson.D{{Key: "window_id", Value: w.ID()}, {Key: "key", Value: key}, {Key: "kind", Value: "slot"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "released", Value: true}}}})
	if err != nil {
		return fmt.Errorf("%s: release: %w", CardNetworkCountersCollection, err)
	}
	return nil
}

// CardWindowSlots lists the attempts a window counts at now, oldest first.
func (s *Store) CardWindowSlots(ctx context.Context, w CardWindow, now time.Time) ([]CardSlot, error) {
	slots, err := s.windowSlots(ctx, w.ID())
	if err != nil {
		return nil, err
	}
	out := []CardSlot{}
	for _, d := range liveSlots(slots, now) {
		out = append(out, CardSlot{Key: d.Key, InvoiceID: d.InvoiceID, At: d.At})
	}
	return out, nil
}

// windowSlots reads every slot document of a window in sequence order.
func (s *Store) windowSlots(ctx context.Context, windowID string) ([]cardSlotDoc, error) {
	return findAll[cardSlotDoc](ctx, s.coll(CardNetworkCountersCollection),
		bson.D{{Key: "window_id", Value: windowID}, {Key: "kind", Value: "slot"}},
		options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}))
}

func (s *Store) insertCardSlot(ctx context.Context, w CardWindow, slot CardSlot, seq int64) (bool, error) {
	doc := cardSlotDoc{ID: fmt.Sprintf("%s#%d", w.ID(), seq), Kind: "slot", WindowID: w.ID(), Seq: seq, MerchantID: w.MerchantID,
		Card: w.Card, Rule: w.Limit.Name(w.Brand), Key: slot.Key, InvoiceID: slot.InvoiceID, At: slot.At,
		ExpiresAt: slot.At.Add(w.Limit.Window)}
	if w.Limit.PerAmount {
		doc.Amount, doc.Currency = w.Amount, w.Currency
	}
	_, err := s.coll(CardNetworkCountersCollection).InsertOne(ctx, doc)
	if mongo.IsDuplicateKeyError(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: insert: %w", CardNetworkCountersCollection, err)
	}
	return true, nil
}

// pruneCardSlots deletes the window's expired slots below seq, the newest
// (which stays, so its number is never taken again). Best effort: a slot left
// over is only read and skipped.
func (s *Store) pruneCardSlots(ctx context.Context, windowID string, seq int64, now time.Time) {
	_, _ = s.coll(CardNetworkCountersCollection).DeleteMany(ctx, bson.D{{Key: "window_id", Value: windowID},
		{Key: "kind", Value: "slot"}, {Key: "seq", Value: bson.D{{Key: "$lt", Value: seq}}},
		{Key: "expires_at", Value: bson.D{{Key: "$lte", Value: now}}}})
}

// liveSlots keeps the slots counted at now: not released, not expired.
func liveSlots(slots []cardSlotDoc, now time.Time) []cardSlotDoc {
	live := make([]cardSlotDoc, 0, len(slots))
	for _, sl := range slots {
		if !sl.Released && sl.ExpiresAt.After(now) {
			live = append(live, sl)
		}
	}
	return live
}

func slotTimes(slots []cardSlotDoc) []time.Time {
	out := make([]time.Time, len(slots))
	for i, sl := range slots {
		out[i] = sl.At
	}
	return out
}

// cardCounterIndexes are EnsureIndexes' additions for the network rules.
func cardCounterIndexes() map[string][]mongo.IndexModel {
	return map[string][]mongo.IndexModel{CardNetworkCountersCollection: {{
		Keys:    bson.D{{Key: "window_id", Value: 1}, {Key: "seq", Value: 1}},
		Options: options.Index().SetName("window_seq"),
	}}}
}

// CardStop is a never-retry decline on a card at a merchant: no charge of any
// invoice follows on that card.
type CardStop struct {
	ID          string    `bson:"_id,omitempty" json:"id"`
	Kind        string    `bson:"kind" json:"kind"` // "stop"
	MerchantID  string    `bson:"merchant_id" json:"merchant_id"`
	Card        string    `bson:"card" json:"card"`
	Rule        string    `bson:"rule" json:"rule"` // e.g. visa_category_1
	DeclineCode string    `bson:"decline_code,omitempty" json:"decline_code,omitempty"`
	InvoiceID   string    `bson:"invoice_id" json:"invoice_id"`
	Key         string    `bson:"key" json:"key"` // the declined attempt's idempotency key
	At          time.Time `bson:"at" json:"at"`
}

func cardStopID(merchantID, card string) string { return merchantID + "|" + card + "|stop" }

// StopCard records a never-retry decline; the first one recorded stays.
func (s *Store) StopCard(ctx context.Context, st CardStop) error {
	id := cardStopID(st.MerchantID, st.Card)
	st.ID, st.Kind = "", "stop" // the filter's _id is the new document's
	_, err := s.coll(CardNetworkCountersCollection).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$setOnInsert", Value: st}}, options.UpdateOne().SetUpsert(true))
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("%s: upsert stop: %w", CardNetworkCountersCollection, err)
	}
	return nil
}

// CardStopped returns the card's never-retry decline at the merchant, if any.
func (s *Store) CardStopped(ctx context.Context, merchantID, card string) (*CardStop, error) {
	var st CardStop
	err := s.coll(CardNetworkCountersCollection).FindOne(ctx, bson.D{{Key: "_id", Value: cardStopID(merchantID, card)}}).Decode(&st)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: find stop: %w", CardNetworkCountersCollection, err)
	}
	return &st, nil
}

// CardLease is one charge in flight on a card at a merchant: the attempt
// (its idempotency key) that holds the card until its answer is settled, or
// until ExpiresAt if its worker died mid-charge.
type CardLease struct {
	MerchantID string
	Card       string
	Key        string
	InvoiceID  string
	At         time.Time
	ExpiresAt  time.Time
}

// CardLeaseAnswer is the answer of TakeCardLease.
type CardLeaseAnswer struct {
	Taken bool
	// HeldUntil is when the other attempt's lease expires, when not Taken.
	HeldUntil time.Time
}

// cardLeaseDoc is a lease as stored. Like a slot, taking the card is
// inserting the next sequence number of the card's lease (window_id
// "merchant|card|lease"): of two attempts that read the same state only one
// insert succeeds, and no document is ever updated by anyone but its holder,
// so FerretDB's non-atomic conditional updates never decide who holds the
// card. Only the newest document counts; older ones are pruned.
type cardLeaseDoc struct {
	ID         string    `bson:"_id"`
	Kind       string    `bson:"kind"` // "lease"
	WindowID   string    `bson:"window_id"`
	Seq        int64     `bson:"seq"`
	MerchantID string    `bson:"merchant_id"`
	Card       string    `bson:"card"`
	Key        string    `bson:"key"`
	InvoiceID  string    `bson:"invoice_id"`
	At         time.Time `bson:"at"`
	ExpiresAt  time.Time `bson:"expires_at"`
	Released   bool      `bson:"released"`
}

func cardLeaseID(merchantID, card string) string { return merchantID + "|" + card + "|lease" }

// TakeCardLease lets l.Key charge the card: it reads the card's newest lease
// and, unless another key holds it unreleased and unexpired at l.At, inserts
// the next one (a key that holds it renews it until l.ExpiresAt). An insert
// that loses the number to another attempt reads again.
func (s *Store) TakeCardLease(ctx context.Context, l CardLease) (CardLeaseAnswer, error) {
	id := cardLeaseID(l.MerchantID, l.Card)
	for range maxCardSlotTries {
		newest, err := s.newestCardLease(ctx, id)
		if err != nil {
			return CardLeaseAnswer{}, err
		}
		next := int64(0)
		if newest != nil {
			if !newest.Released && newest.ExpiresAt.After(l.At) && newest.Key != l.Key {
				return CardLeaseAnswer{HeldUntil: newest.ExpiresAt}, nil
			}
			next = newest.Seq + 1
		}
		doc := cardLeaseDoc{ID: fmt.Sprintf("%s#%d", id, next), Kind: "lease", WindowID: id, Seq: next, MerchantID: l.MerchantID,
			Card: l.Card, Key: l.Key, InvoiceID: l.InvoiceID, At: l.At, ExpiresAt: l.ExpiresAt}
		_, err = s.coll(CardNetworkCountersCollection).InsertOne(ctx, doc)
		if mongo.IsDuplicateKeyError(err) {
			continue
		}
		if err != nil {
			return CardLeaseAnswer{}, fmt.Errorf("%s: insert lease: %w", CardNetworkCountersCollection, err)
		}
		// A reader that slept past a prune may have inserted a number pruned
		// under a newer lease: only the newest document holds the card.
		if newest, err = s.newestCardLease(ctx, id); err != nil {
			return CardLeaseAnswer{}, err
		}
		if newest == nil || newest.Seq != next {
			continue
		}
		s.pruneCardLeases(ctx, id, next, l.At)
		return CardLeaseAnswer{Taken: true}, nil
	}
	return CardLeaseAnswer{}, fmt.Errorf("%s: %s: too many concurrent attempts on one card", CardNetworkCountersCollection, id)
}

// ReleaseCardLease ends key's lease on the card; another key's lease is left alone.
func (s *Store) ReleaseCardLease(ctx context.Context, merchantID, card, key string) error {
	_, err := s.coll(CardNetworkCountersCollection).UpdateMany(ctx,
		bson.D{{Key: "window_id", Value: cardLeaseID(merchantID, card)}, {Key: "kind", Value: "lease"}, {Key: "key", Value: key}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "released", Value: true}}}})
	if err != nil {
		return fmt.Errorf("%s: release lease: %w", CardNetworkCountersCollection, err)
	}
	return nil
}

// CardLeaseHolder returns the key holding the card at now ("" when free).
func (s *Store) CardLeaseHolder(ctx context.Context, merchantID, card string, now time.Time) (string, error) {
	newest, err := s.newestCardLease(ctx, cardLeaseID(merchantID, card))
	if err != nil || newest == nil || newest.Released || !newest.ExpiresAt.After(now) {
		return "", err
	}
	return newest.Key, nil
}

func (s *Store) newestCardLease(ctx context.Context, id string) (*cardLeaseDoc, error) {
	var d cardLeaseDoc
	err := s.coll(CardNetworkCountersCollection).FindOne(ctx, bson.D{{Key: "window_id", Value: id}, {Key: "kind", Value: "lease"}},
		options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: find lease: %w", CardNetworkCountersCollection, err)
	}
	return &d, nil
}

// pruneCardLeases deletes the card's expired leases below seq, the newest:
// only the newest says who holds the card. Best effort.
func (s *Store) pruneCardLeases(ctx context.Context, id string, seq int64, now time.Time) {
	_, _ = s.coll(CardNetworkCountersCollection).DeleteMany(ctx, bson.D{{Key: "window_id", Value: id},
		{Key: "kind", Value: "lease"}, {Key: "seq", Value: bson.D{{Key: "$lt", Value: seq}}},
		{Key: "expires_at", Value: bson.D{{Key: "$lte", Value: now}}}})
}
