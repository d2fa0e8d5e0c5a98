package connector

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"orderflow/dev/sandbox/payments"
)

func TestPaymentMethodCardAndNetworkDeclineCodes(t *testing.T) {
	proc := payments.New("sk_test_pm")
	srv := httptest.NewServer(proc.Handler())
	defer srv.Close()
	c := New(2 * time.Second)
	acct := StripeAccount{BaseURL: srv.URL, APIKey: "sk_test_pm"}
	ctx := context.Background()

	proc.SetCard("pm_1", payments.Card{Brand: "mastercard", Fingerprint: "fp_shared"})
	card, err := c.PaymentMethod(ctx, acct, "pm_1")
	if err != nil || card.Brand != "mastercard" || card.Key() != "fp_shared" || card.PaymentMethodID != "pm_1" {
		t.Fatalf("card %+v %v", card, err)
	}
	// Stripe's test payment methods name their brand; each is a card of its own.
	visa, err := c.PaymentMethod(ctx, acct, "pm_card_visa")
	if err != nil || visa.Brand != "visa" || visa.Fingerprint == "" || visa.Fingerprint == card.Fingerprint {
		t.Fatalf("pm_card_visa %+v %v", visa, err)
	}
	if _, err := c.PaymentMethod(ctx, StripeAccount{BaseURL: srv.URL, APIKey: "wrong"}, "pm_1"); err == nil || IsRetryable(err) {
		t.Errorf("a refused key: %v, want a final error", err)
	}
	if got := (Card{PaymentMethodID: "pm_9"}).Key(); got != "pm:pm_9" {
		t.Errorf("key without a fingerprint %q", got)
	}

	proc.Script("pm_1", payments.Outcome{Kind: payments.Decline, DeclineCode: "do_not_honor", NetworkDeclineCode: "05", NetworkAdviceCode: "03"},
		payments.Outcome{Kind: payments.Processing, SettleTo: "requires_payment_method", DeclineCode: "lost_card"})
	res, err := c.CreateAndConfirm(ctx, acct, PaymentRequest{Amount: 100, Currency: "usd", PaymentMethod: "pm_1", IdempotencyKey: "k1"})
	if err != nil || res.NetworkDeclineCode != "05" || res.NetworkAdviceCode != "03" || res.DeclineCode != "do_not_honor" {
		t.Fatalf("decline %+v %v", res, err)
	}
	pending, err := c.CreateAndConfirm(ctx, acct, PaymentRequest{Amount: 100, Currency: "usd", PaymentMethod: "pm_1", IdempotencyKey: "k2"})
	if err != nil || pending.Status != StatusProcessing {
		t.Fatalf("processing %+v %v", pending, err)
	}
	settled, err := c.Retrieve(ctx, acct, pending.PaymentIntentID)
	if err != nil || settled.Status != StatusFailed || settled.DeclineCode != "lost_card" {
		t.Errorf("settled %+v %v", settled, err)
	}
	if charges := proc.Charges(); len(charges) != 2 || charges[0].Brand != "mastercard" || charges[0].Fingerprint != "fp_shared" {
		t.Errorf("the sandbox's charges %+v", charges)
	}
}

func TestCustomerCardsNewestFirst(t *testing.T) {
	proc := payments.New("sk_test_pm")
	srv := httptest.NewServer(proc.Handler())
	defer srv.Close()
	c := New(2 * time.Second)
	acct := StripeAccount{BaseURL: srv.URL, APIKey: "sk_test_pm"}
	ctx := context.Background()

	proc.SetCard("pm_old", payments.Card{Brand: "visa", Fingerprint: "fp_old"})
	proc.Attach("cus_1", "pm_old", "pm_card_mastercard")
	cards, err := c.CustomerCards(ctx, acct, "cus_1")
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 2 || cards[0].PaymentMethodID != "pm_card_mastercard" || cards[0].Brand != "mastercard" ||
		cards[1].PaymentMethodID != "pm_old" || cards[1].Fingerprint != "fp_old" || cards[1].Funding != "credit" {
		t.Errorf("cards %+v", cards)
	}
	none, err := c.CustomerCards(ctx, acct, "cus_without_cards")
	if err != nil || len(none) != 0 {
		t.Errorf("a customer without cards: %+v %v", none, err)
	}
	if _, err := c.CustomerCards(ctx, StripeAccount{BaseURL: srv.URL, APIKey: "wrong"}, "cus_1"); err == nil || IsRetryable(err) {
		t.Errorf("a refused key: %v, want a final error", err)
	}
}
