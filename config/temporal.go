package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Temporal says where the Temporal frontend is, how orderflow proves who it is
// to it, and which task queue orderflow owns.
type Temporal struct {
	Address   string      `yaml:"address" env:"ADDRESS"`
	Namespace string      `yaml:"namespace" env:"NAMESPACE"`
	TaskQueue string      `yaml:"task_queue" env:"TASK_QUEUE"`
	TLS       TemporalTLS `yaml:"tls" envPrefix:"TLS_"`
	// APIKey is sent as "Authorization: Bearer <key>" on every call, as
	// Temporal Cloud expects; an API key always goes over TLS. APIKeyFile names
	// a file holding it instead: the file is re-read when it changes, so a
	// rotated key is used without a restart. Set one of the two.
	APIKey     string `yaml:"api_key" env:"API_KEY"`
	APIKeyFile string `yaml:"api_key_file" env:"API_KEY_FILE"`
	// Codec encrypts payloads before they reach Temporal (config/codec.go).
	Codec Codec `yaml:"codec" envPrefix:"CODEC_"`
}

// TemporalTLS configures TLS to the frontend. TLS is on when Enabled is true or
// any other key of it (or an API key) is set. Every PEM value can be given as
// a file (re-read when it changes: certificates expire and are rotated) or
// inline, typically from the environment.
type TemporalTLS struct {
	// Enabled turns TLS on with the system's root CAs when nothing else is set.
	Enabled bool `yaml:"enabled" env:"ENABLED"`
	// CAFile / CA: the CA bundle that signed the frontend's certificate (PEM);
	// the system's roots when neither is set (Temporal Cloud).
	CAFile string `yaml:"ca_file" env:"CA_FILE"`
	CA     string `yaml:"ca" env:"CA"`
	// ServerName is the name the frontend's certificate must carry, when it is
	// not the host of temporal.address (a proxy, an IP address, an internal name).
	ServerName string `yaml:"server_name" env:"SERVER_NAME"`
	// CertFile / Cert and KeyFile / Key: the client certificate and its private
	// key (PEM) for mTLS. Both or neither.
	CertFile string `yaml:"cert_file" env:"CERT_FILE"`
	Cert     string `yaml:"cert" env:"CERT"`
	KeyFile  string `yaml:"key_file" env:"KEY_FILE"`
	Key      string `yaml:"key" env:"KEY"`
}

// On reports whether orderflow talks TLS to the frontend.
func (t Temporal) On() bool {
	s := t.TLS
	return s.Enabled || s.CAFile != "" || s.CA != "" || s.ServerName != "" || s.MTLS() || t.HasAPIKey()
}

// MTLS reports whether a client certificate is configured.
func (s TemporalTLS) MTLS() bool {
	return s.CertFile != "" || s.Cert != "" || s.KeyFile != "" || s.Key != ""
}

// HasAPIKey reports whether an API key is configured.
func (t Temporal) HasAPIKey() bool { return t.APIKey != "" || t.APIKeyFile != "" }

// ClientCertificate reads and checks the client certificate and its key: the
// pair must match and the certificate must be valid now. Errors name the key,
// never the key material.
func (s TemporalTLS) ClientCertificate(now time.Time) (tls.Certificate, error) {
	certPEM, err := pemValue("temporal.tls.cert", s.Cert, s.CertFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := pemValue("temporal.tls.key", s.Key, s.KeyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	if block, _ := pem.Decode(certPEM); block == nil || block.Type != "CERTIFICATE" {
		return tls.Certificate{}, keyErr(keyName("temporal.tls.cert", s.CertFile), errors.New("holds no PEM certificate"))
	} else if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return tls.Certificate{}, keyErr(keyName("temporal.tls.cert", s.CertFile), err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, keyErr(keyName("temporal.tls.key", s.KeyFile),
			fmt.Errorf("with %s: %w", keyName("temporal.tls.cert", s.CertFile), err))
	}
	if err := checkValidity(pair.Leaf, now); err != nil {
		return tls.Certificate{}, keyErr(keyName("temporal.tls.cert", s.CertFile), err)
	}
	return pair, nil
}

// RootCAs reads the CA bundle; nil means the system's roots.
func (s TemporalTLS) RootCAs() (*x509.CertPool, error) {
	if s.CA == "" && s.CAFile == "" {
		return nil, nil
	}
	raw, err := pemValue("temporal.tls.ca", s.CA, s.CAFile)
	if err != nil {
		return nil, err
	}
	pool, n := x509.NewCertPool(), 0
	for block, rest := pem.Decode(raw); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, keyErr(keyName("temporal.tls.ca", s.CAFile), err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, keyErr(keyName("temporal.tls.ca", s.CAFile), errors.New("holds no PEM certificate"))
	}
	return pool, nil
}

// ReadAPIKey returns the API key, reading temporal.api_key_file when that is
// the source. Surrounding whitespace (a file's trailing newline) is dropped.
func (t Temporal) ReadAPIKey() (string, error) {
	key, name := t.APIKey, "temporal.api_key"
	if t.APIKeyFile != "" {
		name = "temporal.api_key_file"
		raw, err := os.ReadFile(t.APIKeyFile)
		if err != nil {
			return "", keyErr(name, fmt.Errorf("cannot read: %w", err))
		}
		key = string(raw)
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return "", keyErr(name, errors.New("is empty"))
	}
	for _, r := range key {
		if r <= ' ' || r > '~' {
			return "", keyErr(name, errors.New("must be printable ASCII without spaces (an HTTP header value)"))
		}
	}
	return key, nil
}

func (t Temporal) validate(bad func(key, msg string)) {
	s := t.TLS
	badErr := func(err error) {
		var ke *KeyError
		if errors.As(err, &ke) {
			bad(ke.Key, ke.Err.Error())
		} else if err != nil {
			bad("temporal", err.Error())
		}
	}
	exclusive := func(key, inline, file string) bool {
		if inline != "" && file != "" {
			bad(key, fmt.Sprintf("set %s or %s_file, not both", key, key))
			return false
		}
		return true
	}
	ok := exclusive("temporal.tls.ca", s.CA, s.CAFile)
	ok = exclusive("temporal.tls.cert", s.Cert, s.CertFile) && ok
	ok = exclusive("temporal.tls.key", s.Key, s.KeyFile) && ok
	ok = exclusive("temporal.api_key", t.APIKey, t.APIKeyFile) && ok
	if !ok {
		return
	}
	hasCert, hasKey := s.Cert != "" || s.CertFile != "", s.Key != "" || s.KeyFile != ""
	switch {
	case hasCert && !hasKey:
		bad("temporal.tls.key_file", "must be set when temporal.tls.cert_file is (the client certificate's private key)")
	case hasKey && !hasCert:
		bad("temporal.tls.cert_file", "must be set when temporal.tls.key_file is (the client certificate)")
	case hasCert:
		_, err := s.ClientCertificate(time.Now())
		badErr(err)
	}
	_, err := s.RootCAs()
	badErr(err)
	if t.HasAPIKey() {
		_, err := t.ReadAPIKey()
		badErr(err)
	}
}

// pemValue is the inline value or the file's content; key names the inline key.
func pemValue(key, inline, file string) ([]byte, error) {
	if file == "" {
		if inline == "" {
			return nil, keyErr(key, errors.New("must be set"))
		}
		return []byte(inline), nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, keyErr(key+"_file", fmt.Errorf("cannot read: %w", err))
	}
	return raw, nil
}

// KeyError is a bad value of one configuration key.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

func keyErr(key string, err error) error { return &KeyError{Key: key, Err: err} }

// keyName is the key a value came from: the _file key when a file was given.
func keyName(key, file string) string {
	if file != "" {
		return key + "_file"
	}
	return key
}

func checkValidity(c *x509.Certificate, now time.Time) error {
	if c == nil {
		return errors.New("holds no certificate")
	}
	if now.After(c.NotAfter) {
		return fmt.Errorf("the certificate expired at %s", c.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(c.NotBefore) {
		return fmt.Errorf("the certificate is not valid before %s", c.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}
