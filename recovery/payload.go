package recovery

import (
	"encoding/json"
	"time"
)

// RecoveryPayload is Hyperswitch's revenue recovery request: the body of POST
// /v2/payments/recovery and the data of a custombilling webhook.
type RecoveryPayload struct {
	AmountDetails struct {
		OrderAmount int64  `json:"order_amount"`
		Currency    string `json:"currency"`
	} `json:"amount_details"`
	MerchantReferenceID    string `json:"merchant_reference_id"`
	ConnectorTransactionID string `json:"connector_transaction_id"`
	ConnectorCustomerID    string `json:"connector_customer_id"`
	Error                  *struct {
		Code               string `json:"code"`
		Message            string `json:"message"`
		NetworkDeclineCode string `json:"network_decline_code"`
	} `json:"error"`
	Billing              json.RawMessage `json:"billing,omitempty"`
	PaymentMethodType    string          `json:"payment_method_type"`
	PaymentMethodSubType string          `json:"payment_method_sub_type"`
	PaymentMethodData    struct {
		PrimaryProcessorPaymentMethodToken string `json:"primary_processor_payment_method_token"`
		AdditionalPaymentMethodInfo        struct {
			CardNetwork string `json:"card_network"`
			CardType    string `json:"card_type"`
		} `json:"additional_payment_method_info"`
	} `json:"payment_method_data"`
	BillingStartedAt            string `json:"billing_started_at,omitempty"`
	TransactionCreatedAt        string `json:"transaction_created_at,omitempty"`
	AttemptStatus               string `json:"attempt_status"`
	Action                      string `json:"action,omitempty"`
	BillingMerchantConnectorID  string `json:"billing_merchant_connector_id,omitempty"`
	PaymentMerchantConnectorID  string `json:"payment_merchant_connector_id,omitempty"`
	BillingConnectorRetryCount  int    `json:"retry_count,omitempty"`
	BillingConnectorAttemptedBy string `json:"triggered_by,omitempty"`
}

// KindOfAttemptStatus maps the recovery request's attempt_status to an event kind.
func KindOfAttemptStatus(status string) EventKind {
	switch status {
	case "failure", "failed", "authorization_failed", "charge_failed":
		return PaymentFailure
	case "charged", "succeeded", "success":
		return PaymentSuccess
	case "pending", "processing", "authorizing":
		return PaymentPending
	case "voided", "cancelled":
		return InvoiceCancel
	}
	return OtherEvent
}

// EventFromPayload turns a recovery payload into an Event of the given kind.
func EventFromPayload(p RecoveryPayload, kind EventKind) Event {
	ev := Event{
		Kind:                 kind,
		InvoiceID:            p.MerchantReferenceID,
		TransactionID:        p.ConnectorTransactionID,
		Amount:               p.AmountDetails.OrderAmount,
		Currency:             normaliseCurrency(p.AmountDetails.Currency),
		ConnectorCustomerID:  p.ConnectorCustomerID,
		PaymentMethodToken:   p.PaymentMethodData.PrimaryProcessorPaymentMethodToken,
		CardNetwork:          p.PaymentMethodData.AdditionalPaymentMethodInfo.CardNetwork,
		CardFunding:          p.PaymentMethodData.AdditionalPaymentMethodInfo.CardType,
		PlatformAttemptCount: p.BillingConnectorRetryCount,
	}
	if p.Error != nil {
		ev.ErrorCode, ev.ErrorMessage, ev.DeclineCode = p.Error.Code, p.Error.Message, p.Error.NetworkDeclineCode
	}
	ev.OccurredAt, _ = time.Parse(time.RFC3339, p.TransactionCreatedAt)
	return ev
}
