package config

import (
	"strings"
	"testing"
	"time"
)

func TestNetworkRulesDefaultsAndOverrides(t *testing.T) {
	cfg, err := Load(writeFile(t, "http:\n  api_key: "+validKey+"\nnetwork_rules:\n  limits:\n    visa:\n      - {window: 720h, max: 20, per_amount: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.NetworkRules.Rules()
	if !r.Enabled || len(r.Limits["visa"]) != 1 || r.Limits["visa"][0].Max != 20 || !r.Limits["visa"][0].PerAmount {
		t.Errorf("visa override: %+v", r.Limits["visa"])
	}
	if mc := r.Limits["mastercard"]; len(mc) != 2 || mc[0].Max != 10 || mc[0].Window != 24*time.Hour || mc[1].Max != 35 {
		t.Errorf("mastercard defaults kept beside the override: %+v", mc)
	}

	t.Setenv("ORDERFLOW_NETWORK_RULES_LIMITS", "visa=720h/15/amount;mastercard=24h/10,720h/35")
	t.Setenv("ORDERFLOW_NETWORK_RULES_ENABLED", "false")
	cfg, err = Load(writeFile(t, "http:\n  api_key: "+validKey+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.NetworkRules.Rules(); r.Enabled || len(r.Limits["mastercard"]) != 2 || r.Limits["mastercard"][1].Window != 720*time.Hour {
		t.Errorf("from the environment: %+v", r)
	}
}

func TestNetworkRulesBadInputNamesTheKey(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		env        map[string]string
		wantKey    string
	}{
		{"zero limit", "network_rules:\n  limits:\n    visa:\n      - {window: 720h, max: 0}\n", nil, "network_rules.limits.visa[0].max"},
		{"negative limit", "network_rules:\n  limits:\n    mastercard:\n      - {window: 24h, max: 10}\n      - {window: 720h, max: -1}\n", nil, "network_rules.limits.mastercard[1].max"},
		{"zero window", "network_rules:\n  limits:\n    visa:\n      - {window: 0s, max: 15}\n", nil, "network_rules.limits.visa[0].window"},
		{"unknown brand", "network_rules:\n  limits:\n    vissa:\n      - {window: 720h, max: 15}\n", nil, "network_rules.limits.vissa"},
		{"env unknown brand", "", map[string]string{"ORDERFLOW_NETWORK_RULES_LIMITS": "visa=720h/15;master-card=24h/10"}, "network_rules.limits.master-card"},
		{"env zero limit", "", map[string]string{"ORDERFLOW_NETWORK_RULES_LIMITS": "visa=720h/0/amount"}, "network_rules.limits.visa[0].max"},
		{"env unreadable", "", map[string]string{"ORDERFLOW_NETWORK_RULES_LIMITS": "visa=720h"}, "NETWORK_RULES_LIMITS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := Load(writeFile(t, "http:\n  api_key: "+validKey+"\n"+tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.wantKey) {
				t.Errorf("error %v, want one naming %s", err, tc.wantKey)
			}
		})
	}
}
