package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "orderflow.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const validKey = "0123456789abcdef-key"

func TestLoadAppliesFileThenEnvironment(t *testing.T) {
	p := writeFile(t, "http:\n  api_key: "+validKey+"\nmongo:\n  database: shop\ncrm:\n  request_timeout: 3s\n")
	t.Setenv("ORDERFLOW_MONGO_DATABASE", "shop_from_env")
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Mongo.Database != "shop_from_env" {
		t.Errorf("env override lost: %q", cfg.Mongo.Database)
	}
	if cfg.CRM.RequestTimeout != 3*time.Second {
		t.Errorf("file value lost: %v", cfg.CRM.RequestTimeout)
	}
	if cfg.Temporal.TaskQueue != "orderflow" {
		t.Errorf("default lost: %q", cfg.Temporal.TaskQueue)
	}
}

func TestLoadRejectsBadValuesNamingTheKey(t *testing.T) {
	cases := []struct {
		name, file string
		env        map[string]string
		wantKey    string
	}{
		{"bad mongo uri", "mongo:\n  uri: http://x\n", nil, "mongo.uri"},
		{"missing api key", "", nil, "http.api_key"},
		{"bad temporal address", "temporal:\n  address: nohostport\n", nil, "temporal.address"},
		{"zero timeout", "crm:\n  request_timeout: 0s\n", nil, "crm.request_timeout"},
		{"bad log level", "log:\n  level: loud\n", nil, "log.level"},
		{"env bad listen", "", map[string]string{"ORDERFLOW_HTTP_LISTEN": "8080"}, "http.listen"},
		{"unknown key", "mongo:\n  urii: x\n", nil, "urii"},
		{"short push key", "push:\n  clickpost_keys:\n    acme: [short]\n", nil, "push.clickpost_keys.acme"},
		{"three push secrets", "push:\n  fulfilment_secrets:\n    acme: [aaaaaaaaaaaaaaaa1, aaaaaaaaaaaaaaaa2, aaaaaaaaaaaaaaaa3]\n", nil, "push.fulfilment_secrets.acme"},
		{"bad account name", "push:\n  clickpost_keys:\n    Acme/1: [aaaaaaaaaaaaaaaa1]\n", nil, "push.clickpost_keys"},
		{"env bad credentials", "", map[string]string{"ORDERFLOW_PUSH_CLICKPOST_KEYS": "nocolon"}, "PUSH_CLICKPOST_KEYS"},
		{"short shiprocket token", "push:\n  shiprocket_tokens:\n    acme: [short]\n", nil, "push.shiprocket_tokens.acme"},
		{"three delhivery tokens", "push:\n  delhivery_tokens:\n    acme: [aaaaaaaaaaaaaaaa1, aaaaaaaaaaaaaaaa2, aaaaaaaaaaaaaaaa3]\n", nil, "push.delhivery_tokens.acme"},
		{"env bad shiprocket account", "", map[string]string{"ORDERFLOW_PUSH_SHIPROCKET_TOKENS": "Acme/1:aaaaaaaaaaaaaaaa1"}, "push.shiprocket_tokens"},
		{"env bad delhivery credentials", "", map[string]string{"ORDERFLOW_PUSH_DELHIVERY_TOKENS": "nocolon"}, "PUSH_DELHIVERY_TOKENS"},
		{"env bad duration", "", map[string]string{"ORDERFLOW_CRM_TOKEN_TIMEOUT": "soon"}, "CRM_TOKEN_TIMEOUT"},
		{"env zero sticky cache", "", map[string]string{"ORDERFLOW_WORKER_STICKY_CACHE_SIZE": "0"}, "worker.sticky_cache_size"},
		{"zero breaker threshold", "delivery:\n  breaker:\n    failure_threshold: 0\n", nil, "delivery.breaker.failure_threshold"},
		{"negative drain rate", "delivery:\n  breaker:\n    drain_rate_per_second: -1\n", nil, "delivery.breaker.drain_rate_per_second"},
		{"zero half-open interval", "delivery:\n  breaker:\n    half_open_interval: 0s\n", nil, "delivery.breaker.half_open_interval"},
		{"env zero disable after", "", map[string]string{"ORDERFLOW_DELIVERY_BREAKER_DISABLE_AFTER": "0s"}, "delivery.breaker.disable_after"},
		{"bad operations webhook", "delivery:\n  breaker:\n    operations_webhook_url: ftp://x\n", nil, "delivery.breaker.operations_webhook_url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("ORDERFLOW_HTTP_API_KEY", "")
			file := tc.file
			if tc.wantKey != "http.api_key" {
				file = "http:\n  api_key: " + validKey + "\n" + file
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := Load(writeFile(t, file))
			if err == nil {
				t.Fatalf("Load accepted a bad config")
			}
			if !strings.Contains(err.Error(), tc.wantKey) {
				t.Fatalf("error %q does not name %q", err, tc.wantKey)
			}
		})
	}
}

func TestValidationErrorNeverEchoesTheAPIKey(t *testing.T) {
	secret := "short-secret"
	_, err := Load(writeFile(t, "http:\n  api_key: "+secret+"\n"))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("want an error without the key's value, got %v", err)
	}
}

func TestShippedConfigFilesAreValid(t *testing.T) {
	t.Setenv("ORDERFLOW_HTTP_API_KEY", validKey) // the deployment file holds no secret: the environment gives it
	for _, file := range []string{"orderflow.yaml", "dev.yaml"} {
		cfg, err := Load(file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if cfg.HTTP.Listen != "127.0.0.1:8080" || cfg.Temporal.TaskQueue != "orderflow" {
			t.Errorf("%s: unexpected values: %+v", file, cfg)
		}
	}
}

func TestPushCredentialsFromEnvironmentAllowRotation(t *testing.T) {
	t.Setenv("ORDERFLOW_PUSH_CLICKPOST_KEYS", "acme:old-key-0123456789|new-key-0123456789,beta:beta-key-0123456789")
	cfg, err := Load(writeFile(t, "http:\n  api_key: "+validKey+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Push.ClickpostKeys["acme"]; len(got) != 2 || got[1] != "new-key-0123456789" {
		t.Errorf("acme keys = %v", got)
	}
	if len(cfg.Push.ClickpostKeys["beta"]) != 1 {
		t.Errorf("beta keys = %v", cfg.Push.ClickpostKeys["beta"])
	}
}

func TestCourierPushTokensFromEnvironmentAllowRotation(t *testing.T) {
	t.Setenv("ORDERFLOW_PUSH_SHIPROCKET_TOKENS", "acme:sr-old-0123456789|sr-new-0123456789")
	t.Setenv("ORDERFLOW_PUSH_DELHIVERY_TOKENS", "acme:dl-key-0123456789,beta:dl-beta-0123456789")
	cfg, err := Load(writeFile(t, "http:\n  api_key: "+validKey+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Push.ShiprocketTokens["acme"]; len(got) != 2 || got[0] != "sr-old-0123456789" || got[1] != "sr-new-0123456789" {
		t.Errorf("shiprocket tokens = %v", got)
	}
	if got := cfg.Push.DelhiveryTokens; len(got) != 2 || len(got["beta"]) != 1 {
		t.Errorf("delhivery tokens = %v", got)
	}
}
