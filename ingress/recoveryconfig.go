package ingress

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"orderflow/activities"
	"orderflow/recovery"
	"orderflow/store"
	"orderflow/webhook"
)

// mountRecoveryConfigAPI mounts /v1/profiles and /v1/connector-accounts with
// the configuration API's conventions: 400 naming the field, 404, 409 while
// referenced, secrets write-only (never returned; an update that leaves one out keeps it).
func mountRecoveryConfigAPI(mux *http.ServeMux, d Deps) {
	s := d.Store
	mountResource(mux, d, resource[store.BusinessProfile]{path: "profiles", repo: s.Profiles(), prepare: prepareProfile,
		inUse: func(ctx context.Context, id string) (string, error) {
			n, err := s.ProfileConnectors(ctx, id)
			if err != nil || n == 0 {
				return "", err
			}
			return "profile has connector accounts", nil
		},
		view: viewProfile})
	mountResource(mux, d, resource[store.ConnectorAccount]{path: "connector-accounts", repo: s.ConnectorAccounts(),
		prepare: prepareConnectorAccount(s),
		inUse: func(ctx context.Context, id string) (string, error) {
			n, err := s.BillingConnectorsRouting(ctx, id)
			if err != nil || n == 0 {
				return "", err
			}
			return "payment connector is referenced by a billing connector", nil
		},
		view: viewConnectorAccount})
}

func validWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func prepareProfile(_ context.Context, p, old *store.BusinessProfile) error {
	if old != nil && p.PaymentResponseHashKey == "" {
		p.PaymentResponseHashKey = old.PaymentResponseHashKey
	}
	if p.RetryAlgorithm == "" {
		p.RetryAlgorithm = recovery.Monitoring // Hyperswitch's default until the merchant switches
	}
	switch {
	case p.MerchantID == "":
		return fieldError("merchant_id", "is required")
	case !validWebURL(p.WebhookURL):
		return fieldError("webhook_url", "must be an http(s) URL")
	case !recovery.ValidAlgorithm(p.RetryAlgorithm):
		return fieldError("revenue_recovery_retry_algorithm_type", "must be monitoring, cascading, smart or adaptive")
	case p.MaxRandomDelaySeconds != nil && (*p.MaxRandomDelaySeconds < 0 || *p.MaxRandomDelaySeconds > 3600):
		return fieldError("max_random_schedule_delay_in_seconds", "must be 0..3600")
	case p.SmartDelayScale < 0:
		return fieldError("smart_delay_scale", "must not be negative")
	case len(p.PSyncDelaysSeconds) > 100:
		return fieldError("psync_delays_seconds", "at most 100 syncs")
	}
	if _, err := recovery.LoadTimeZone(p.TimeZone); err != nil {
		return fieldError("time_zone", "must be an IANA time zone such as Asia/Kolkata")
	}
	for _, d := range p.PSyncDelaysSeconds {
		if d < 1 {
			return fieldError("psync_delays_seconds", "every delay must be at least 1 second")
		}
	}
	if err := validateWebhookRetryDelays(p.WebhookRetryDelaysSeconds); err != nil {
		return err
	}
	if p.CascadingSchedule != nil {
		if err := p.CascadingSchedule.Schedule().Validate(); err != nil {
			return fieldError("cascading_schedule", err.Error())
		}
	}
	if p.PaymentResponseHashKey != "" {
		if len(p.PaymentResponseHashKey) < 16 {
			return fieldError("payment_response_hash_key", "must be at least 16 characters")
		}
		if _, err := recovery.SignStandardWebhooks(p.PaymentResponseHashKey, "check", time.Unix(0, 0), nil); err != nil {
			return fieldError("payment_response_hash_key", "a whsec_ key must be base64 after the prefix")
		}
	}
	return nil
}

// profileView is a profile as the API shows it: without its key.
type profileView struct {
	store.BusinessProfile
	PaymentResponseHashKeySet bool `json:"payment_response_hash_key_set"`
}

func viewProfile(p store.BusinessProfile) any {
	set := p.PaymentResponseHashKey != ""
	p.PaymentResponseHashKey = ""
	return profileView{BusinessProfile: p, PaymentResponseHashKeySet: set}
}

func prepareConnectorAccount(s *store.Store) func(context.Context, *store.ConnectorAccount, *store.ConnectorAccount) error {
	return func(ctx context.Context, c, old *store.ConnectorAccount) error {
		if old != nil {
			keepConnectorSecrets(c, old)
		}
		// Kept as given, so their keys must be storable (a 400, not a failed insert).
		for _, f := range []struct {
			name  string
			value any
		}{{"metadata", c.Metadata}, {"frm_configs", c.FrmConfigs}, {"payment_methods_enabled", c.PaymentMethodsEnabled}} {
			if err := webhook.ValidateKeys(f.name, f.value); err != nil {
				return err
			}
		}
		if _, err := s.Profile(ctx, c.ProfileID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fieldError("profile_id", "must name an existing profile")
			}
			return err
		}
		switch c.ConnectorType {
		case store.BillingProcessor:
			return prepareBilling(ctx, s, c)
		case store.PaymentProcessor:
			return preparePayment(c)
		}
		return fieldError("connector_type", "must be billing_processor or payment_processor")
	}
}

// keepConnectorSecrets carries over the write-only secrets an update leaves
// out. The API key is sent to base_url, so it is kept only while base_url
// stays: a new base_url must come with its key, or anyone holding the API key
// could have the stored one sent to a host of theirs.
func keepConnectorSecrets(c, old *store.ConnectorAccount) {
	if c.AccountDetails.APIKey == "" && c.BaseURL == old.BaseURL {
		c.AccountDetails.APIKey = old.AccountDetails.APIKey
	}
	if c.WebhookDetails.MerchantSecret == "" {
		c.WebhookDetails.MerchantSecret = old.WebhookDetails.MerchantSecret
	}
	if c.WebhookDetails.AdditionalSecret == "" {
		c.WebhookDetails.AdditionalSecret = old.WebhookDetails.AdditionalSecret
	}
}

func prepareBilling(ctx context.Context, s *store.Store, c *store.ConnectorAccount) error {
	platform, ok := recovery.PlatformNamed(c.ConnectorName)
	if !ok {
		return fieldError("connector_name", "must be one of "+strings.Join(recovery.PlatformNames(), ", "))
	}
	if c.WebhookDetails.MerchantSecret == "" {
		return fieldError("connector_webhook_details.merchant_secret", "is required: webhooks are verified with it")
	}
	if bad := platform.CheckCredentials(webhookCredentials(*c)); bad != nil {
		return fieldError("connector_webhook_details."+bad.Field, bad.Message)
	}
	if platform.HasAPI() {
		if !validWebURL(c.BaseURL) {
			return fieldError("base_url", "must be the platform's API base URL (record-back and fetches)")
		}
		if c.AccountDetails.APIKey == "" {
			return fieldError("connector_account_details.api_key", "is required to call the platform's API")
		}
	}
	rm := c.Recovery()
	if c.FeatureMetadata == nil || c.FeatureMetadata.RevenueRecovery == nil {
		return fieldError("feature_metadata.revenue_recovery", "is required for a billing processor")
	}
	switch {
	case rm.MaxRetryCount < 0:
		return fieldError("feature_metadata.revenue_recovery.max_retry_count", "must not be negative")
	case rm.BillingConnectorRetryThreshold < 0:
		return fieldError("feature_metadata.revenue_recovery.billing_connector_retry_threshold", "must not be negative")
	case len(rm.BillingAccountReference) == 0:
		return fieldError("feature_metadata.revenue_recovery.billing_account_reference", "must map at least one payment connector id")
	}
	ids := make([]string, 0, len(rm.BillingAccountReference))
	for id := range rm.BillingAccountReference {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		pay, err := s.ConnectorAccount(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (pay.ConnectorType != store.PaymentProcessor || pay.ProfileID != c.ProfileID)) {
			return fieldError("feature_metadata.revenue_recovery.billing_account_reference", "key "+id+" is not a payment connector of this profile")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func preparePayment(c *store.ConnectorAccount) error {
	if c.ConnectorName != recovery.Stripe {
		return fieldError("connector_name", "must be stripe")
	}
	if c.BaseURL == "" {
		c.BaseURL = "https://api.stripe.com"
	}
	if !validWebURL(c.BaseURL) {
		return fieldError("base_url", "must be an http(s) URL")
	}
	if c.AccountDetails.APIKey == "" {
		return fieldError("connector_account_details.api_key", "is required")
	}
	return nil
}

// connectorView is a connector account as the API shows it: secrets removed, their presence listed.
type connectorView struct {
	store.ConnectorAccount
	SecretsSet []string `json:"secrets_set"`
}

func viewConnectorAccount(c store.ConnectorAccount) any {
	set := []string{}
	if c.AccountDetails.APIKey != "" {
		set = append(set, "connector_account_details.api_key")
	}
	if c.WebhookDetails.MerchantSecret != "" {
		set = append(set, "connector_webhook_details.merchant_secret")
	}
	if c.WebhookDetails.AdditionalSecret != "" {
		set = append(set, "connector_webhook_details.additional_secret")
	}
	c.AccountDetails.APIKey, c.WebhookDetails.MerchantSecret, c.WebhookDetails.AdditionalSecret = "", "", ""
	return connectorView{ConnectorAccount: c, SecretsSet: set}
}

// validateWebhookRetryDelays checks a profile's merchant webhook schedule:
// every delay above zero, adding up to no more than the delivery activity's
// three days, which end the delivery anyway.
func validateWebhookRetryDelays(delays []int) error {
	const field = "webhook_retry_delays_seconds"
	if len(delays) > 100 {
		return fieldError(field, "at most 100 retries")
	}
	var total time.Duration
	for _, d := range delays {
		if d <= 0 {
			return fieldError(field, "every delay must be greater than 0")
		}
		if d > maxRetrySeconds {
			return fieldError(field, "every delay must be at most 259200 seconds (72 hours)")
		}
		total += time.Duration(d) * time.Second
	}
	if total > activities.MerchantWebhookMaxTotalDelay {
		return fieldError(field, "the delays must add up to at most 259200 seconds (72 hours, the delivery's own time limit)")
	}
	return nil
}
