package recovery

import (
	"encoding/json"
	"time"
)

// Outgoing event types.
const (
	EventPaymentSucceeded = "payment_succeeded"
	EventPaymentFailed    = "payment_failed"
)

// OutgoingWebhook is Hyperswitch's outgoing payment webhook body: {merchant_id, event_id, event_type,
// content{type: payment_details, object}, timestamp}.
type OutgoingWebhook struct {
	MerchantID string          `json:"merchant_id"`
	EventID    string          `json:"event_id"`
	EventType  string          `json:"event_type"`
	Content    OutgoingContent `json:"content"`
	Timestamp  string          `json:"timestamp"`
}

// OutgoingContent wraps the payment.
type OutgoingContent struct {
	Type   string          `json:"type"`
	Object PaymentResponse `json:"object"`
}

// PaymentResponse is the payments response of Hyperswitch's sample webhook, every field
// present (null where we have nothing), so merchants parsing Hyperswitch's
// webhook parse ours.
type PaymentResponse struct {
	ID                         string                `json:"id"`
	Status                     string                `json:"status"`
	Amount                     PaymentAmount         `json:"amount"`
	CustomerID                 *string               `json:"customer_id"`
	Connector                  string                `json:"connector"`
	Created                    string                `json:"created"`
	ModifiedAt                 string                `json:"modified_at"`
	PaymentMethodData          map[string]any        `json:"payment_method_data"`
	PaymentMethodType          string                `json:"payment_method_type"`
	PaymentMethodSubtype       string                `json:"payment_method_subtype"`
	ConnectorTransactionID     string                `json:"connector_transaction_id"`
	ConnectorReferenceID       string                `json:"connector_reference_id"`
	MerchantConnectorID        string                `json:"merchant_connector_id"`
	BrowserInfo                any                   `json:"browser_info"`
	Error                      *PaymentError         `json:"error"`
	Shipping                   any                   `json:"shipping"`
	Billing                    any                   `json:"billing"`
	Attempts                   any                   `json:"attempts"`
	ConnectorTokenDetails      ConnectorTokenDetails `json:"connector_token_details"`
	PaymentMethodID            *string               `json:"payment_method_id"`
	NextAction                 any                   `json:"next_action"`
	ReturnURL                  *string               `json:"return_url"`
	AuthenticationType         string                `json:"authentication_type"`
	AuthenticationTypeApplied  string                `json:"authentication_type_applied"`
	IsIframeRedirectionEnabled any                   `json:"is_iframe_redirection_enabled"`
	MerchantReferenceID        string                `json:"merchant_reference_id"`
	RawConnectorResponse       any                   `json:"raw_connector_response"`
	FeatureMetadata            FeatureMetadata       `json:"feature_metadata"`
}

// PaymentAmount is the amount block of Hyperswitch's payments response.
type PaymentAmount struct {
	OrderAmount            int64  `json:"order_amount"`
	Currency               string `json:"currency"`
	ShippingCost           *int64 `json:"shipping_cost"`
	OrderTaxAmount         *int64 `json:"order_tax_amount"`
	ExternalTaxCalculation string `json:"external_tax_calculation"`
	SurchargeCalculation   string `json:"surcharge_calculation"`
	SurchargeAmount        *int64 `json:"surcharge_amount"`
	TaxOnSurcharge         *int64 `json:"tax_on_surcharge"`
	NetAmount              int64  `json:"net_amount"`
	AmountToCapture        *int64 `json:"amount_to_capture"`
	AmountCapturable       int64  `json:"amount_capturable"`
	AmountCaptured         int64  `json:"amount_captured"`
}

// PaymentError is a failed payment's error.
type PaymentError struct {
	Code        string `json:"code"`
	Message     string `json:"message"`
	DeclineCode string `json:"decline_code,omitempty"`
}

// ConnectorTokenDetails names the stored payment method used.
type ConnectorTokenDetails struct {
	Token                            string  `json:"token"`
	ConnectorTokenRequestReferenceID *string `json:"connector_token_request_reference_id"`
}

// FeatureMetadata carries revenue_recovery.
type FeatureMetadata struct {
	RedirectResponse         any                     `json:"redirect_response"`
	SearchTags               any                     `json:"search_tags"`
	ApplePayRecurringDetails any                     `json:"apple_pay_recurring_details"`
	RevenueRecovery          RevenueRecoveryMetadata `json:"revenue_recovery"`
}

// RevenueRecoveryMetadata is feature_metadata.revenue_recovery of Hyperswitch's payments response.
type RevenueRecoveryMetadata struct {
	TotalRetryCount                       int                            `json:"total_retry_count"`
	PaymentConnectorTransmission          string                         `json:"payment_connector_transmission"`
	BillingConnectorID                    string                         `json:"billing_connector_id"`
	ActiveAttemptPaymentConnectorID       string                         `json:"active_attempt_payment_connector_id"`
	BillingConnectorPaymentDetails        BillingConnectorPaymentDetails `json:"billing_connector_payment_details"`
	PaymentMethodType                     string                         `json:"payment_method_type"`
	PaymentMethodSubtype                  string                         `json:"payment_method_subtype"`
	Connector                             string                         `json:"connector"`
	BillingConnectorPaymentMethodDetails  *BillingPaymentMethodDetails   `json:"billing_connector_payment_method_details"`
	InvoiceNextBillingTime                *string                        `json:"invoice_next_billing_time"`
	InvoiceBillingStartedAtTime           *string                        `json:"invoice_billing_started_at_time"`
	FirstPaymentAttemptPGErrorCode        *string                        `json:"first_payment_attempt_pg_error_code"`
	FirstPaymentAttemptNetworkDeclineCode *string                        `json:"first_payment_attempt_network_decline_code"`
	FirstPaymentAttemptNetworkAdviceCode  *string                        `json:"first_payment_attempt_network_advice_code"`
}

// BillingConnectorPaymentDetails are the processor token and customer.
type BillingConnectorPaymentDetails struct {
	PaymentProcessorToken string `json:"payment_processor_token"`
	ConnectorCustomerID   string `json:"connector_customer_id"`
}

// BillingPaymentMethodDetails describes the card as the platform reported it.
type BillingPaymentMethodDetails struct {
	Type  string            `json:"type"`
	Value map[string]string `json:"value"`
}

// PaymentOutcome is what the workflow knows when it builds the webhook.
type PaymentOutcome struct {
	MerchantID          string
	EventID             string
	EventType           string // EventPaymentSucceeded or EventPaymentFailed
	PaymentID           string
	InvoiceID           string // merchant_reference_id
	Amount              int64
	Currency            string
	ConnectorCustomerID string
	// PaymentMethodToken is the payment method charged: after a switch to
	// another of the customer's cards, that card's (payment_method_id,
	// connector_token_details.token, payment_processor_token).
	PaymentMethodToken string
	PaymentIntentID    string // connector_transaction_id
	PaymentConnectorID string
	BillingConnectorID string
	TotalRetryCount    int
	CardNetwork        string
	CardFunding        string
	FirstErrorCode     string
	FirstDeclineCode   string
	ErrorCode          string // for payment_failed
	ErrorMessage       string
	DeclineCode        string
	Created, Modified  time.Time
	At                 time.Time // the event's timestamp
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// hyperswitchTime is the sample's timestamp format: UTC with milliseconds.
func hyperswitchTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// BuildWebhook builds the merchant webhook's body for o. The bytes are what
// package delivery signs and sends on every retry, unchanged.
func BuildWebhook(o PaymentOutcome) ([]byte, error) {
	status, captured, transmission := "succeeded", o.Amount, "ConnectorCallSucceeded"
	var perr *PaymentError
	if o.EventType == EventPaymentFailed {
		status, captured = "failed", 0
		perr = &PaymentError{Code: o.ErrorCode, Message: o.ErrorMessage, DeclineCode: o.DeclineCode}
	}
	subtype := o.CardFunding
	if subtype == "" {
		subtype = "credit"
	}
	var pmDetails *BillingPaymentMethodDetails
	pmData := map[string]any{"billing": nil}
	if o.CardNetwork != "" {
		pmDetails = &BillingPaymentMethodDetails{Type: "card", Value: map[string]string{"card_network": o.CardNetwork}}
		pmData["card"] = map[string]string{"card_network": o.CardNetwork, "card_type": subtype}
	}
	body := OutgoingWebhook{
		MerchantID: o.MerchantID,
		EventID:    o.EventID,
		EventType:  o.EventType,
		Timestamp:  hyperswitchTime(o.At),
		Content: OutgoingContent{Type: "payment_details", Object: PaymentResponse{
			ID:     o.PaymentID,
			Status: status,
			Amount: PaymentAmount{OrderAmount: o.Amount, Currency: o.Currency, ExternalTaxCalculation: "skip",
				SurchargeCalculation: "skip", NetAmount: o.Amount, AmountCaptured: captured},
			Connector:                 Stripe,
			Created:                   hyperswitchTime(o.Created),
			ModifiedAt:                hyperswitchTime(o.Modified),
			PaymentMethodData:         pmData,
			PaymentMethodType:         "card",
			PaymentMethodSubtype:      subtype,
			ConnectorTransactionID:    o.PaymentIntentID,
			ConnectorReferenceID:      o.PaymentIntentID,
			MerchantConnectorID:       o.PaymentConnectorID,
			Error:                     perr,
			ConnectorTokenDetails:     ConnectorTokenDetails{Token: o.PaymentMethodToken},
			PaymentMethodID:           strPtr(o.PaymentMethodToken),
			AuthenticationType:        "no_three_ds",
			AuthenticationTypeApplied: "no_three_ds",
			MerchantReferenceID:       o.InvoiceID,
			FeatureMetadata: FeatureMetadata{RevenueRecovery: RevenueRecoveryMetadata{
				TotalRetryCount:                 o.TotalRetryCount,
				PaymentConnectorTransmission:    transmission,
				BillingConnectorID:              o.BillingConnectorID,
				ActiveAttemptPaymentConnectorID: o.PaymentConnectorID,
				BillingConnectorPaymentDetails: BillingConnectorPaymentDetails{
					PaymentProcessorToken: o.PaymentMethodToken, ConnectorCustomerID: o.ConnectorCustomerID},
				PaymentMethodType:                     "card",
				PaymentMethodSubtype:                  subtype,
				Connector:                             Stripe,
				BillingConnectorPaymentMethodDetails:  pmDetails,
				FirstPaymentAttemptPGErrorCode:        strPtr(o.FirstErrorCode),
				FirstPaymentAttemptNetworkDeclineCode: strPtr(o.FirstDeclineCode),
			}},
		}},
	}
	return json.Marshal(body)
}
