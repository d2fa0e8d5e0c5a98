package config

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// devSecrets are the credentials config/dev.yaml publishes, by key.
var devSecrets = map[string]string{
	"http.api_key":                    "dev-api-key-change-me",
	"push.clickpost_keys.demo":        "dev-clickpost-key-change-me",
	"push.fulfilment_secrets.demo":    "dev-fulfilment-secret-change-me",
	"couriers.delhivery.token":        "sandbox-delhivery-token",
	"couriers.delhivery_b2b.password": "sandbox-b2b-password",
	"couriers.shiprocket.password":    "sandbox-shiprocket-password",
}

func TestDevCredentialsAreFoundInTheDevConfig(t *testing.T) {
	got := map[string]string{}
	for _, s := range devCredentialsByKey(t) {
		got[s.Key] = s.Value
	}
	for key, value := range devSecrets {
		if got[key] != value {
			t.Errorf("%s: not found among dev.yaml's credentials %v", key, slices.Collect(mapKeys(got)))
		}
	}
}

func devCredentialsByKey(t *testing.T) []SecretValue {
	t.Helper()
	cfg, err := Load("dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.DevMode {
		t.Fatal("dev.yaml does not set dev_mode: true")
	}
	return SecretValues(cfg)
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// The development configuration without development mode: every published
// credential is refused by its key, and the error quotes none of them.
func TestDevCredentialsAreRefusedOutsideDevMode(t *testing.T) {
	t.Setenv("ORDERFLOW_DEV_MODE", "false")
	_, err := Load("dev.yaml")
	if err == nil {
		t.Fatal("dev.yaml loaded with dev_mode false")
	}
	msg := err.Error()
	for key, value := range devSecrets {
		if !strings.Contains(msg, "config: "+key+": holds a development credential") {
			t.Errorf("the error does not name %s:\n%s", key, msg)
		}
		if strings.Contains(msg, value) {
			t.Errorf("the error quotes the value of %s", key)
		}
	}
	if !strings.Contains(msg, "dev_mode: true") {
		t.Errorf("the error does not name dev_mode:\n%s", msg)
	}
}

// A deployment given a published key through its environment (a forged push
// signed with the demo secret would then be accepted) refuses to start.
func TestDevCredentialFromTheEnvironmentIsRefused(t *testing.T) {
	t.Setenv("ORDERFLOW_HTTP_API_KEY", validKey)
	t.Setenv("ORDERFLOW_PUSH_FULFILMENT_SECRETS", "acme:"+devSecrets["push.fulfilment_secrets.demo"])
	_, err := Load("orderflow.yaml")
	if err == nil || !strings.Contains(err.Error(), "config: push.fulfilment_secrets.acme: holds a development credential") {
		t.Fatalf("want a refusal naming push.fulfilment_secrets.acme, got %v", err)
	}

	t.Setenv("ORDERFLOW_PUSH_FULFILMENT_SECRETS", "")
	t.Setenv("ORDERFLOW_HTTP_API_KEY", devSecrets["http.api_key"])
	if _, err := Load("orderflow.yaml"); err == nil || !strings.Contains(err.Error(), "config: http.api_key: holds a development credential") {
		t.Fatalf("want a refusal naming http.api_key, got %v", err)
	}

	t.Setenv("ORDERFLOW_DEV_MODE", "true")
	if _, err := Load("orderflow.yaml"); err != nil {
		t.Fatalf("development mode must accept the development key: %v", err)
	}
}

// The deployment configuration (docker-compose, the Dockerfile, the chart)
// carries no credential, is not in development mode and tracks no courier
// until one is given its real address.
func TestDeploymentConfigHoldsNoCredentialNorSandbox(t *testing.T) {
	raw, err := os.ReadFile("orderflow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORDERFLOW_HTTP_API_KEY", validKey)
	cfg, err := Load("orderflow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DevMode {
		t.Error("orderflow.yaml sets dev_mode")
	}
	for _, s := range SecretValues(cfg) {
		if s.Key != "http.api_key" {
			t.Errorf("orderflow.yaml holds a credential at %s", s.Key)
		}
	}
	for api, c := range cfg.Couriers.ByAPI() {
		if c.Enabled() {
			t.Errorf("orderflow.yaml enables %s at %s", api, c.BaseURL)
		}
	}
	if strings.Contains(string(raw), ":8091") {
		t.Error("orderflow.yaml points at the sandbox couriers")
	}
	for key, value := range devSecrets {
		if strings.Contains(string(raw), value) {
			t.Errorf("orderflow.yaml holds the development value of %s", key)
		}
	}
}

func TestSecretValuesCoverEverySection(t *testing.T) {
	cfg := Default()
	cfg.HTTP.APIKey = "a"
	cfg.Temporal.APIKey = "b"
	cfg.Temporal.APIKeyFile = "/not/a/secret"
	cfg.Temporal.TLS.Key = "c"
	cfg.Push.ClickpostKeys = Credentials{"acme": {"d", "e"}}
	cfg.Couriers.Shiprocket.Password = "f"
	cfg.Couriers.Shiprocket.Username = "not-a-secret"
	var got []string
	for _, s := range SecretValues(cfg) {
		got = append(got, s.Key+"="+s.Value)
	}
	want := []string{"temporal.tls.key=c", "temporal.api_key=b", "http.api_key=a",
		"push.clickpost_keys.acme[0]=d", "push.clickpost_keys.acme[1]=e", "couriers.shiprocket.password=f"}
	if !slices.Equal(got, want) {
		t.Errorf("SecretValues = %v, want %v", got, want)
	}
}
