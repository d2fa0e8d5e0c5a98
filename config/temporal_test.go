package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"orderflow/temporalclient/tlstest"
)

// pki is a CA, a client certificate and key and an API key on disk.
type pki struct {
	dir, caFile, certFile, keyFile, apiKeyFile string
	ca                                         *tlstest.CA
	client                                     tlstest.Leaf
}

const testAPIKey = "cloud-apikey-DISTINCT-51c9e2"

func newPKI(t *testing.T) pki {
	t.Helper()
	p := pki{dir: t.TempDir(), ca: tlstest.NewCA(t, "test CA")}
	p.client = p.ca.Client(t, "orderflow-worker")
	p.certFile, p.keyFile = p.client.Write(t, p.dir, "client")
	p.caFile = filepath.Join(p.dir, "ca.pem")
	tlstest.WriteFile(t, p.caFile, p.ca.PEM())
	p.apiKeyFile = filepath.Join(p.dir, "api-key")
	tlstest.WriteFile(t, p.apiKeyFile, []byte(testAPIKey+"\n"))
	return p
}

func (p pki) file(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	tlstest.WriteFile(t, path, []byte(body))
	return path
}

func temporalYAML(lines ...string) string {
	return "http:\n  api_key: " + validKey + "\ntemporal:\n  " + strings.Join(lines, "\n  ") + "\n"
}

func TestTemporalTLSLoadsFromFileAndEnvironment(t *testing.T) {
	p := newPKI(t)
	t.Setenv("ORDERFLOW_TEMPORAL_TLS_CA_FILE", p.caFile)
	t.Setenv("ORDERFLOW_TEMPORAL_TLS_CERT", string(p.client.CertPEM))
	t.Setenv("ORDERFLOW_TEMPORAL_TLS_KEY", string(p.client.KeyPEM))
	cfg, err := Load(writeFile(t, temporalYAML("api_key_file: "+p.apiKeyFile, "tls:", "  server_name: temporal.internal")))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Temporal.On() || !cfg.Temporal.TLS.MTLS() || cfg.Temporal.TLS.ServerName != "temporal.internal" {
		t.Fatalf("TLS settings lost: %+v", cfg.Temporal.TLS.ServerName)
	}
	key, err := cfg.Temporal.ReadAPIKey()
	if err != nil || key != testAPIKey {
		t.Fatalf("API key = %q, %v; want the file's content without its newline", key, err)
	}
	if pool, err := cfg.Temporal.TLS.RootCAs(); err != nil || pool == nil {
		t.Fatalf("CA pool = %v, %v", pool, err)
	}
}

func TestTemporalWithoutTLSKeysIsPlaintext(t *testing.T) {
	cfg, err := Load(writeFile(t, "http:\n  api_key: "+validKey+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Temporal.On() {
		t.Fatal("TLS is on without any TLS key")
	}
	cfg, err = Load(writeFile(t, temporalYAML("tls:", "  enabled: true")))
	if err != nil || !cfg.Temporal.On() {
		t.Fatalf("temporal.tls.enabled did not turn TLS on: %v", err)
	}
}

func TestTemporalBadCredentialsNameTheKey(t *testing.T) {
	p := newPKI(t)
	other := tlstest.NewCA(t, "other CA").Client(t, "someone")
	expiredCert, expiredKey := p.ca.ExpiredClient(t, "old").Write(t, p.dir, "expired")
	missing := filepath.Join(p.dir, "missing.pem")
	cases := []struct {
		name    string
		yaml    []string
		env     map[string]string
		wantKey string
	}{
		{"missing cert file", []string{"tls:", "  cert_file: " + missing, "  key_file: " + p.keyFile}, nil, "temporal.tls.cert_file"},
		{"unreadable key file", []string{"tls:", "  cert_file: " + p.certFile, "  key_file: " + p.dir}, nil, "temporal.tls.key_file"},
		{"cert without key", []string{"tls:", "  cert_file: " + p.certFile}, nil, "temporal.tls.key_file"},
		{"key without cert", []string{"tls:", "  key_file: " + p.keyFile}, nil, "temporal.tls.cert_file"},
		{"key of another certificate", []string{"tls:", "  cert_file: " + p.certFile, "  key_file: " + p.file(t, "other.key", string(other.KeyPEM))}, nil, "temporal.tls.key_file"},
		{"expired cert", []string{"tls:", "  cert_file: " + expiredCert, "  key_file: " + expiredKey}, nil, "temporal.tls.cert_file"},
		{"cert file holds no PEM", []string{"tls:", "  cert_file: " + p.file(t, "junk.crt", "not a certificate"), "  key_file: " + p.keyFile}, nil, "temporal.tls.cert_file"},
		{"missing CA file", []string{"tls:", "  ca_file: " + missing}, nil, "temporal.tls.ca_file"},
		{"CA file without certificates", []string{"tls:", "  ca_file: " + p.file(t, "empty-ca.pem", "# nothing\n")}, nil, "temporal.tls.ca_file"},
		{"missing API key file", []string{"api_key_file: " + missing}, nil, "temporal.api_key_file"},
		{"empty API key file", []string{"api_key_file: " + p.file(t, "empty-key", "\n")}, nil, "temporal.api_key_file"},
		{"API key twice", []string{"api_key_file: " + p.apiKeyFile}, map[string]string{"ORDERFLOW_TEMPORAL_API_KEY": testAPIKey}, "temporal.api_key"},
		{"cert inline and as a file", []string{"tls:", "  cert_file: " + p.certFile, "  key_file: " + p.keyFile}, map[string]string{"ORDERFLOW_TEMPORAL_TLS_CERT": string(p.client.CertPEM)}, "temporal.tls.cert"},
		{"env missing cert file", nil, map[string]string{"ORDERFLOW_TEMPORAL_TLS_CERT_FILE": missing, "ORDERFLOW_TEMPORAL_TLS_KEY_FILE": p.keyFile}, "temporal.tls.cert_file"},
		{"env unknown variable", nil, map[string]string{"ORDERFLOW_TEMPORAL_TLS_CERTFILE": p.certFile}, "ORDERFLOW_TEMPORAL_TLS_CERTFILE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := Load(writeFile(t, temporalYAML(tc.yaml...)))
			if err == nil {
				t.Fatal("Load accepted bad Temporal credentials")
			}
			if !strings.Contains(err.Error(), "config: "+tc.wantKey+":") {
				t.Fatalf("error %q does not name %q", err, tc.wantKey)
			}
			for _, secret := range []string{string(p.client.KeyPEM), string(other.KeyPEM), testAPIKey} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q quotes a secret", err)
				}
			}
		})
	}
}

func TestAPIKeyErrorsNeverQuoteTheKey(t *testing.T) {
	secret := "key-with a-space-DISTINCT"
	_, err := Load(writeFile(t, temporalYAML("api_key: "+secret)))
	if err == nil || !strings.Contains(err.Error(), "temporal.api_key") || strings.Contains(err.Error(), "DISTINCT") {
		t.Fatalf("want an error naming temporal.api_key without its value, got %v", err)
	}
}

func TestUnknownOrderflowVariableIsAnError(t *testing.T) {
	t.Setenv("ORDERFLOW_MONGO_URL", "mongodb://typo")
	t.Setenv("ORDERFLOW_NO_SUCH_THING", "x")
	_, err := Load(writeFile(t, "http:\n  api_key: "+validKey+"\n"))
	if err == nil {
		t.Fatal("Load accepted unknown ORDERFLOW_* variables")
	}
	for _, want := range []string{"ORDERFLOW_MONGO_URL", "did you mean ORDERFLOW_MONGO_URI?", "ORDERFLOW_NO_SUCH_THING"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "mongodb://typo") {
		t.Errorf("error %q quotes the variable's value", err)
	}
}

func TestNonKeyVariablesAreAccepted(t *testing.T) {
	for name := range NonKeyVariables {
		t.Setenv(name, "anything")
	}
	if _, err := Load(writeFile(t, "http:\n  api_key: "+validKey+"\n")); err != nil {
		t.Fatal(err)
	}
}

// Every key under temporal: has its variable and is documented with it.
func TestEveryTemporalKeyIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/temporal-cloud.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range EnvVariables() {
		if !strings.HasPrefix(v, EnvPrefix+"TEMPORAL_") || v == EnvPrefix+"TEMPORAL_TASK_QUEUE" ||
			strings.HasPrefix(v, EnvPrefix+"TEMPORAL_CODEC_") { // docs/encryption.md: TestEveryCodecKeyIsDocumented
			continue
		}
		n++
		key := "temporal." + strings.ToLower(strings.TrimPrefix(v, EnvPrefix+"TEMPORAL_"))
		key = strings.Replace(key, "tls_", "tls.", 1)
		if !strings.Contains(string(doc), "`"+key+"` | `"+v+"`") {
			t.Errorf("docs/temporal-cloud.md has no row for %s (%s)", key, v)
		}
	}
	if n < 12 {
		t.Fatalf("found %d Temporal variables, want the 12 connection keys", n)
	}
}
