package recovery

import "strings"

// DeclineClass is how a failed attempt bears on retrying.
type DeclineClass string

// Decline classes.
const (
	None              DeclineClass = ""
	Hard              DeclineClass = "hard"               // never retry: the card or account is gone or forbidden
	InsufficientFunds DeclineClass = "insufficient_funds" // soft: wait for money
	Transient         DeclineClass = "transient"          // soft: the issuer or network hiccupped
	Soft              DeclineClass = "soft"               // any other decline
)

// Decline is a classified failure.
type Decline struct {
	Class       DeclineClass `json:"class"`
	Code        string       `json:"code,omitempty"`
	DeclineCode string       `json:"decline_code,omitempty"`
}

// Stripe's non-retryable list (Smart Retries) and the other hard declines listed in docs/billing-platforms.md ("Stripe PaymentIntents").
var hardCodes = map[string]bool{
	"incorrect_number": true, "lost_card": true, "pickup_card": true, "stolen_card": true,
	"revocation_of_authorization": true, "revocation_of_all_authorizations": true,
	"authentication_required": true, "highest_risk_level": true, "transaction_not_allowed": true,
	"expired_card": true, "card_not_supported": true, "currency_not_supported": true, "invalid_account": true,
	"restricted_card": true, "fraudulent": true, "stop_payment_order": true, "security_violation": true,
	"account_closed": true, "closed_account": true, "do_not_try_again": true, "do_not_honor_permanently": true,
}

var transientCodes = map[string]bool{
	"processing_error": true, "try_again_later": true, "issuer_not_available": true,
	"reenter_transaction": true, "approve_with_id": true, "rate_limit": true,
}

// Classify reads Stripe's code, decline_code and advice_code (any may be empty).
// The most specific wins: a hard decline code or advice do_not_try_again is hard.
func Classify(code, declineCode, adviceCode string) Decline {
	d := Decline{Code: code, DeclineCode: declineCode}
	norm := func(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
	code, declineCode, adviceCode = norm(code), norm(declineCode), norm(adviceCode)
	switch {
	case code == "" && declineCode == "" && adviceCode == "":
		d.Class = None
	case adviceCode == "do_not_try_again" || hardCodes[declineCode] || hardCodes[code]:
		d.Class = Hard
	case declineCode == "insufficient_funds" || code == "insufficient_funds":
		d.Class = InsufficientFunds
	case transientCodes[declineCode] || transientCodes[code] || adviceCode == "try_again_later":
		d.Class = Transient
	default:
		d.Class = Soft
	}
	return d
}
