package activities

import (
	"context"
	"slices"

	"go.temporal.io/sdk/activity"

	"orderflow/recovery/connector"
)

// OtherPaymentMethodsInput asks which of the customer's stored payment
// methods a recovery may switch to once its current one is given up on.
type OtherPaymentMethodsInput struct {
	ProfileID          string `json:"profile_id"`
	MerchantID         string `json:"merchant_id,omitempty"`
	InvoiceID          string `json:"invoice_id"`
	BillingConnectorID string `json:"billing_connector_id"`
	PaymentConnectorID string `json:"payment_connector_id"`
	CustomerID         string `json:"customer_id"`
	// GivenUp are the payment methods the recovery gave up on (hard-declined
	// or out of card-network budget), the current one included: neither they
	// nor another method on the same card are offered again.
	GivenUp []string `json:"given_up"`
}

// OtherPaymentMethod is a payment method a recovery may switch to.
type OtherPaymentMethod struct {
	PaymentMethodToken string `json:"payment_method_token"`
	CardNetwork        string `json:"card_network,omitempty"`
	CardFunding        string `json:"card_funding,omitempty"`
}

// OtherPaymentMethods is the answer: Enabled is false when the billing
// connector's switch_payment_method_config is absent (switching off); Methods
// are in the order to try them.
type OtherPaymentMethods struct {
	Enabled bool                 `json:"enabled"`
	Methods []OtherPaymentMethod `json:"methods"`
}

// OtherPaymentMethods lists the customer's other stored cards at the payment
// processor, in the processor's order (Stripe's: newest first), leaving out
// every card a given-up method is on (compared by fingerprint, so one card
// saved twice counts once) and every card the card networks' never-retry
// rules stopped for the merchant. Switching is on when the billing
// connector carries switch_payment_method_config.
func (r *Recovery) OtherPaymentMethods(ctx context.Context, in OtherPaymentMethodsInput) (OtherPaymentMethods, error) {
	billing, err := r.Store.ConnectorAccount(ctx, in.BillingConnectorID)
	if err != nil {
		return OtherPaymentMethods{}, configError("billing connector "+in.BillingConnectorID, err)
	}
	if billing.Recovery().SwitchPaymentMethodConfig == nil {
		return OtherPaymentMethods{Methods: []OtherPaymentMethod{}}, nil
	}
	out := OtherPaymentMethods{Enabled: true, Methods: []OtherPaymentMethod{}}
	if in.CustomerID == "" {
		return out, nil
	}
	acct, err := r.stripeAccount(ctx, in.PaymentConnectorID)
	if err != nil {
		return OtherPaymentMethods{}, err
	}
	cards, err := r.Connectors.CustomerCards(ctx, acct, in.CustomerID)
	if err != nil {
		return OtherPaymentMethods{}, paymentError(err)
	}
	givenUp, err := r.givenUpCards(ctx, acct, in.GivenUp, cards)
	if err != nil {
		return OtherPaymentMethods{}, err
	}
	for _, c := range cards {
		if slices.Contains(in.GivenUp, c.PaymentMethodID) || givenUp[c.Key()] {
			continue
		}
		stopped, err := r.cardStopped(ctx, in, c)
		if err != nil {
			return OtherPaymentMethods{}, err
		}
		if stopped {
			continue
		}
		givenUp[c.Key()] = true // a card saved twice is offered once
		out.Methods = append(out.Methods, OtherPaymentMethod{PaymentMethodToken: c.PaymentMethodID, CardNetwork: c.Brand, CardFunding: c.Funding})
	}
	activity.GetLogger(ctx).Info("customer's other payment methods listed", "invoice_id", in.InvoiceID,
		"stored", len(cards), "offered", len(out.Methods))
	return out, nil
}

// givenUpCards are the cards (their network-rule keys) of the given-up
// methods: from the listing, else read from the processor one by one.
func (r *Recovery) givenUpCards(ctx context.Context, acct connector.StripeAccount, tokens []string, listed []connector.Card) (map[string]bool, error) {
	keys := map[string]bool{}
	for _, token := range tokens {
		i := slices.IndexFunc(listed, func(c connector.Card) bool { return c.PaymentMethodID == token })
		if i >= 0 {
			keys[listed[i].Key()] = true
			continue
		}
		card, err := r.Connectors.PaymentMethod(ctx, acct, token)
		if err != nil {
			if connector.IsRetryable(err) {
				return nil, err
			}
			continue // detached or unknown: its token alone is excluded
		}
		keys[card.Key()] = true
	}
	return keys, nil
}

// cardStopped reports whether the card networks' never-retry rules stopped
// the card for the merchant (when the worker counts the rules).
func (r *Recovery) cardStopped(ctx context.Context, in OtherPaymentMethodsInput, c connector.Card) (bool, error) {
	if r.Cards == nil || !r.NetworkRules.Enabled {
		return false, nil
	}
	merchant := in.MerchantID
	if merchant == "" {
		merchant = in.ProfileID
	}
	stop, err := r.Cards.CardStopped(ctx, merchant, c.Key())
	return stop != nil, err
}
