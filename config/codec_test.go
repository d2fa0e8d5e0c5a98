package config

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func b64(b byte, n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, n)) }

func codecYAML(lines ...string) string {
	return "http:\n  api_key: " + validKey + "\ntemporal:\n  codec:\n    " + strings.Join(lines, "\n    ") + "\n"
}

func TestCodecKeysLoadFromYAMLEnvironmentAndFile(t *testing.T) {
	keysFile := filepath.Join(t.TempDir(), "codec-keys.yaml")
	if err := os.WriteFile(keysFile, []byte("2025-01: "+b64(1, 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORDERFLOW_TEMPORAL_CODEC_KEYS", "2025-06:"+b64(2, 32)+",2025-09:"+b64(3, 32))
	t.Setenv("ORDERFLOW_TEMPORAL_CODEC_ACTIVE_KEY_ID", "2025-09")
	cfg, err := Load(writeFile(t, codecYAML("enabled: true", "keys_file: "+keysFile)))
	if err != nil {
		t.Fatal(err)
	}
	keys, active, err := cfg.Temporal.Codec.ReadKeys()
	if err != nil {
		t.Fatal(err)
	}
	if active != "2025-09" || len(keys) != 3 || keys["2025-01"][0] != 1 || keys["2025-06"][0] != 2 || len(keys["2025-09"]) != 32 {
		t.Errorf("active %q, keys %v", active, keys)
	}

	one := Codec{Enabled: true, Keys: CodecKeys{"only": b64(7, 32)}}
	if _, active, err := one.ReadKeys(); err != nil || active != "only" {
		t.Errorf("a single key is the active one: %q, %v", active, err)
	}
}

func TestBadCodecConfigurationIsRefusedNamingTheKey(t *testing.T) {
	secret := b64(9, 16) // a key of the wrong length: its value must not be echoed
	dupFile := filepath.Join(t.TempDir(), "dup.yaml")
	if err := os.WriteFile(dupFile, []byte("k1: "+b64(1, 32)+"\nk1: "+b64(2, 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	overlapFile := filepath.Join(t.TempDir(), "overlap.yaml")
	if err := os.WriteFile(overlapFile, []byte("k1: "+b64(2, 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		yaml string
		env  map[string]string
		want string
	}{
		"a key of the wrong length": {codecYAML("enabled: true", "keys:", "  short: "+secret), nil,
			"temporal.codec.keys.short: must be 32 bytes"},
		"a key that is not base64": {codecYAML("enabled: true", "keys:", "  k1: not*base64"), nil,
			"temporal.codec.keys.k1: is not standard base64"},
		"an unknown active key id": {codecYAML("enabled: true", "active_key_id: k9", "keys:", "  k1: "+b64(1, 32)), nil,
			`temporal.codec.active_key_id: "k9" is not a listed key id`},
		"several keys and no active one": {codecYAML("enabled: true", "keys:", "  k1: "+b64(1, 32), "  k2: "+b64(2, 32)), nil,
			"temporal.codec.active_key_id: must name"},
		"enabled without keys": {codecYAML("enabled: true"), nil, "temporal.codec.keys: must list at least one key"},
		"a key id listed twice in the environment": {codecYAML("enabled: true"),
			map[string]string{"ORDERFLOW_TEMPORAL_CODEC_KEYS": "k1:" + b64(1, 32) + ",k1:" + b64(2, 32)},
			`ORDERFLOW_TEMPORAL_CODEC_KEYS`},
		"a key id listed twice in the key file": {codecYAML("enabled: true", "keys_file: "+dupFile), nil,
			`temporal.codec.keys_file: want a YAML map of key id to base64 key: yaml: unmarshal errors:`},
		"a key id in both the keys and the key file": {codecYAML("enabled: true", "keys_file: "+overlapFile, "active_key_id: k1", "keys:", "  k1: "+b64(1, 32)), nil,
			`temporal.codec.keys_file: key id "k1" is also in temporal.codec.keys`},
		"an unreadable key file": {codecYAML("enabled: true", "keys_file: /nonexistent/keys.yaml"), nil,
			"temporal.codec.keys_file: cannot read"},
		"a key id that cannot be a metric label": {codecYAML("enabled: true", "keys:", "  \"bad id\": "+b64(1, 32)), nil,
			`temporal.codec.keys: key id "bad id" must match`},
		"a codec server without a token off loopback": {codecYAML("keys:", "  k1: "+b64(1, 32), "server:", "  enabled: true") + "http:\n  listen: 0.0.0.0:8080\n", nil,
			"temporal.codec.server.token: must be set"},
		"a codec server with a short token": {codecYAML("keys:", "  k1: "+b64(1, 32), "server:", "  enabled: true", "  token: short"), nil,
			"temporal.codec.server.token: must be at least 16 characters"},
		"a codec server without keys": {codecYAML("server:", "  enabled: true"), nil,
			"temporal.codec.server.enabled: needs temporal.codec.keys"},
		"an allowed origin with a path": {codecYAML("keys:", "  k1: "+b64(1, 32), "server:", "  enabled: true", "  allowed_origins: [http://127.0.0.1:8233/ui]"), nil,
			"temporal.codec.server.allowed_origins"},
	} {
		t.Run(name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			body := tc.yaml
			if strings.Contains(body, "\nhttp:\n") { // the case's own http section replaces the default one
				body = strings.Replace(body, "http:\n  api_key: "+validKey+"\n", "", 1)
				body = strings.Replace(body, "http:\n  listen:", "http:\n  api_key: "+validKey+"\n  listen:", 1)
			}
			_, err := Load(writeFile(t, body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), b64(1, 32)) || strings.Contains(err.Error(), b64(2, 32)) {
				t.Errorf("the error quotes a key: %v", err)
			}
		})
	}
}

func TestCodecServerWithoutATokenIsAllowedOnLoopback(t *testing.T) {
	cfg, err := Load(writeFile(t, codecYAML("enabled: true", "keys:", "  dev: "+b64(1, 32), "server:", "  enabled: true",
		"  allowed_origins: [http://127.0.0.1:8233, http://localhost:8233]")))
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := cfg.Temporal.Codec.Server.ReadToken(); err != nil || tok != "" {
		t.Errorf("token %q, %v", tok, err)
	}
	if got := cfg.Temporal.Codec.Server.AllowedOrigins; len(got) != 2 {
		t.Errorf("allowed origins %v", got)
	}
}

// Every temporal.codec key has its variable and is documented with it.
func TestEveryCodecKeyIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/encryption.md")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{
		"ENABLED": "enabled", "ACTIVE_KEY_ID": "active_key_id", "KEYS": "keys", "KEYS_FILE": "keys_file",
		"SERVER_ENABLED": "server.enabled", "SERVER_TOKEN": "server.token", "SERVER_TOKEN_FILE": "server.token_file",
		"SERVER_ALLOWED_ORIGINS": "server.allowed_origins",
	}
	n := 0
	for _, v := range EnvVariables() {
		suffix, ok := strings.CutPrefix(v, EnvPrefix+"TEMPORAL_CODEC_")
		if !ok {
			continue
		}
		n++
		key, known := keys[suffix]
		if !known {
			t.Errorf("%s: add its key to this test's table", v)
			continue
		}
		if row := "`temporal.codec." + key + "` | `" + v + "`"; !strings.Contains(string(doc), row) {
			t.Errorf("docs/encryption.md has no row %s", row)
		}
	}
	if n != len(keys) {
		t.Errorf("found %d codec variables, want %d", n, len(keys))
	}
}
