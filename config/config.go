// Package config loads orderflow's configuration: one YAML file, then
// ORDERFLOW_* environment overrides, then validation that names the bad key.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"gopkg.in/yaml.v3"
)

// EnvPrefix prefixes every environment override, e.g. ORDERFLOW_MONGO_URI.
const EnvPrefix = "ORDERFLOW_"

// Config is the whole configuration of the worker and the starter.
type Config struct {
	// DevMode allows the development credentials of config/dev.yaml, which are
	// published with this repository; only config/dev.yaml sets it.
	DevMode  bool     `yaml:"dev_mode" env:"DEV_MODE"`
	Temporal Temporal `yaml:"temporal" envPrefix:"TEMPORAL_"`
	Mongo    Mongo    `yaml:"mongo" envPrefix:"MONGO_"`
	HTTP     HTTP     `yaml:"http" envPrefix:"HTTP_"`
	Worker   Worker   `yaml:"worker" envPrefix:"WORKER_"`
	CRM      CRM      `yaml:"crm" envPrefix:"CRM_"`
	Delivery Delivery `yaml:"delivery" envPrefix:"DELIVERY_"`
	Log      Log      `yaml:"log" envPrefix:"LOG_"`
	Push     Push     `yaml:"push" envPrefix:"PUSH_"`
	Couriers Couriers `yaml:"couriers" envPrefix:"COURIERS_"`
	Sweep    Sweep    `yaml:"sweep" envPrefix:"SWEEP_"`
	Recovery Recovery `yaml:"recovery" envPrefix:"RECOVERY_"`
	// NetworkRules are the card networks' retry limits revenue recovery checks before every charge.
	NetworkRules NetworkRules `yaml:"network_rules" envPrefix:"NETWORK_RULES_"`
}

// Push holds the credentials of the push tracking webhooks, per account. Two
// values for one account are both valid: that is how a key is rotated.
type Push struct {
	// ClickpostKeys: account → webhook_key values Clickpost sends.
	ClickpostKeys Credentials `yaml:"clickpost_keys" env:"CLICKPOST_KEYS"`
	// FulfilmentSecrets: account → secrets of X-Event-Signature = sha256(body + secret).
	FulfilmentSecrets Credentials `yaml:"fulfilment_secrets" env:"FULFILMENT_SECRETS"`
	// ShiprocketTokens: account → the security token set in Shiprocket's
	// webhook settings, which Shiprocket sends in the x-api-key header.
	ShiprocketTokens Credentials `yaml:"shiprocket_tokens" env:"SHIPROCKET_TOKENS"`
	// DelhiveryTokens: account → the token Delhivery was asked, at the push
	// webhook's registration, to send in the Authorization header.
	DelhiveryTokens Credentials `yaml:"delhivery_tokens" env:"DELHIVERY_TOKENS"`
}

// Credentials maps an account to its valid secrets. In the environment it is
// written "acme:key1|key2,beta:key3".
type Credentials map[string][]string

// UnmarshalText parses the environment form.
func (c *Credentials) UnmarshalText(text []byte) error {
	out := Credentials{}
	for _, entry := range strings.Split(string(text), ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		account, secrets, ok := strings.Cut(entry, ":")
		if !ok || account == "" {
			return errors.New(`want "account:secret1|secret2,…"`)
		}
		out[account] = strings.Split(secrets, "|")
	}
	*c = out
	return nil
}

// accountName is what an account may be called: it appears in webhook routes and workflow IDs.
var accountName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

func validateCredentials(bad func(key, msg string), key string, c Credentials) {
	for account, secrets := range c {
		if !accountName.MatchString(account) {
			bad(key, "account names must match "+accountName.String())
			continue
		}
		if len(secrets) == 0 || len(secrets) > 2 {
			bad(key+"."+account, "must list one secret, or two while rotating")
		}
		for _, s := range secrets {
			if len(s) < 16 {
				bad(key+"."+account, "every secret must be at least 16 characters")
			}
		}
	}
}

// Mongo says which database holds the merchant's orders and orderflow's collections.
type Mongo struct {
	URI            string        `yaml:"uri" env:"URI"`
	Database       string        `yaml:"database" env:"DATABASE"`
	ConnectTimeout time.Duration `yaml:"connect_timeout" env:"CONNECT_TIMEOUT"`
}

// HTTP configures the starter's server: ingress and configuration API.
type HTTP struct {
	Listen       string `yaml:"listen" env:"LISTEN"`
	APIKey       string `yaml:"api_key" env:"API_KEY"`
	MaxBodyBytes int64  `yaml:"max_body_bytes" env:"MAX_BODY_BYTES"`
}

// Worker configures the worker process.
type Worker struct {
	// MetricsListen serves /metrics and /healthz.
	MetricsListen string `yaml:"metrics_listen" env:"METRICS_LISTEN"`
	// StickyCacheSize bounds how many workflows the worker keeps in memory
	// between their tasks (the SDK's default is 10,000). A workflow out of the
	// cache is replayed from its history at its next task: cheap for revenue
	// recovery's long timer waits, and it caps the worker's memory at ~50 KB
	// per cached workflow (make bench, revenue-recovery row).
	StickyCacheSize int `yaml:"sticky_cache_size" env:"STICKY_CACHE_SIZE"`
	// Worker Deployment Versioning: worker.versioning, worker.deployment_name,
	// worker.build_id (config/versioning.go).
	WorkerDeployment `yaml:",inline"`
}

// CRM bounds every outgoing call of the RTO → CRM delivery.
type CRM struct {
	RequestTimeout           time.Duration `yaml:"request_timeout" env:"REQUEST_TIMEOUT"`
	TokenTimeout             time.Duration `yaml:"token_timeout" env:"TOKEN_TIMEOUT"`
	TokenDefaultTTL          time.Duration `yaml:"token_default_ttl" env:"TOKEN_DEFAULT_TTL"`
	MarketplaceLookupTimeout time.Duration `yaml:"marketplace_lookup_timeout" env:"MARKETPLACE_LOOKUP_TIMEOUT"`
}

// Delivery configures what is kept of outgoing webhooks (CRM and merchant).
type Delivery struct {
	// RecordRetention is how long a delivery record (kept for re-drives)
	// outlives its last write before MongoDB's TTL index removes it.
	RecordRetention time.Duration `yaml:"record_retention" env:"RECORD_RETENTION"`
	// Breaker is every destination's circuit breaker (config/breaker.go).
	Breaker Breaker `yaml:"breaker" envPrefix:"BREAKER_"`
}

// Log configures the zap JSON logger.
type Log struct {
	Level string `yaml:"level" env:"LEVEL"`
}

// Default is the configuration used for every key the file and environment leave out.
func Default() Config {
	return Config{
		Temporal: Temporal{Address: "127.0.0.1:7233", Namespace: "default", TaskQueue: "orderflow"},
		Mongo:    Mongo{URI: "mongodb://127.0.0.1:27017", Database: "orderflow", ConnectTimeout: 10 * time.Second},
		HTTP:     HTTP{Listen: "127.0.0.1:8080", MaxBodyBytes: 1 << 20},
		Worker: Worker{MetricsListen: "127.0.0.1:9090", StickyCacheSize: 2000,
			WorkerDeployment: WorkerDeployment{DeploymentName: DefaultDeploymentName}},
		CRM: CRM{
			RequestTimeout:           10 * time.Second,
			TokenTimeout:             10 * time.Second,
			TokenDefaultTTL:          10 * time.Minute,
			MarketplaceLookupTimeout: 5 * time.Second,
		},
		Delivery:     Delivery{RecordRetention: 90 * 24 * time.Hour, Breaker: DefaultBreaker()},
		Log:          Log{Level: "info"},
		Couriers:     DefaultCouriers(),
		Sweep:        DefaultSweep(),
		Recovery:     DefaultRecovery(),
		NetworkRules: DefaultNetworkRules(),
	}
}

// Load reads path (optional when empty), applies ORDERFLOW_* overrides and validates.
func Load(path string) (Config, error) {
	cfg := Default()
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: read %s: %w", path, err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true) // a misspelt key is an error, not a silent default
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return Config{}, fmt.Errorf("config: parse %s: %w", path, err)
		}
	}
	if err := checkEnvNames(os.Environ()); err != nil {
		return Config{}, err
	}
	if err := env.ParseWithOptions(&cfg, env.Options{Prefix: EnvPrefix}); err != nil {
		return Config{}, fmt.Errorf("config: %s: %w", badEnvKey(), err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// badEnvKey finds which ORDERFLOW_* variable failed to parse, so the error names
// the variable the operator set rather than a Go field name.
func badEnvKey() string {
	params, err := env.GetFieldParamsWithOptions(&Config{}, env.Options{Prefix: EnvPrefix})
	if err != nil {
		return "environment"
	}
	for _, p := range params {
		val, ok := os.LookupEnv(p.Key)
		if !ok {
			continue
		}
		scratch := Default()
		one := env.Options{Prefix: EnvPrefix, Environment: map[string]string{p.Key: val}}
		if env.ParseWithOptions(&scratch, one) != nil {
			return p.Key
		}
	}
	return "environment"
}

// Validate checks every key and names the first bad one, e.g. "config: mongo.uri: ...".
func (c Config) Validate() error {
	var errs []error
	bad := func(key, msg string) { errs = append(errs, fmt.Errorf("config: %s: %s", key, msg)) }

	if !isHostPort(c.Temporal.Address) {
		bad("temporal.address", "must be host:port")
	}
	if c.Temporal.Namespace == "" {
		bad("temporal.namespace", "must not be empty")
	}
	if c.Temporal.TaskQueue == "" {
		bad("temporal.task_queue", "must not be empty")
	}
	c.Temporal.validate(bad)
	c.Temporal.Codec.validate(bad, c.HTTP.Listen)
	c.Recovery.validate(bad)
	if u, err := url.Parse(c.Mongo.URI); err != nil || (u.Scheme != "mongodb" && u.Scheme != "mongodb+srv") {
		bad("mongo.uri", "must be a mongodb:// or mongodb+srv:// URI")
	}
	if c.Mongo.Database == "" || strings.ContainsAny(c.Mongo.Database, "/\\. \"$") {
		bad("mongo.database", "must be a valid database name")
	}
	positive(bad, "mongo.connect_timeout", c.Mongo.ConnectTimeout)
	if !isHostPort(c.HTTP.Listen) {
		bad("http.listen", "must be host:port")
	}
	if len(c.HTTP.APIKey) < 16 {
		bad("http.api_key", "must be set, at least 16 characters (ORDERFLOW_HTTP_API_KEY)")
	}
	if c.HTTP.MaxBodyBytes <= 0 {
		bad("http.max_body_bytes", "must be positive")
	}
	if !isHostPort(c.Worker.MetricsListen) {
		bad("worker.metrics_listen", "must be host:port")
	}
	if c.Worker.StickyCacheSize < 1 {
		bad("worker.sticky_cache_size", "must be at least 1")
	}
	c.Worker.WorkerDeployment.validate(bad)
	positive(bad, "crm.request_timeout", c.CRM.RequestTimeout)
	positive(bad, "crm.token_timeout", c.CRM.TokenTimeout)
	positive(bad, "crm.token_default_ttl", c.CRM.TokenDefaultTTL)
	positive(bad, "crm.marketplace_lookup_timeout", c.CRM.MarketplaceLookupTimeout)
	positive(bad, "delivery.record_retention", c.Delivery.RecordRetention)
	c.Delivery.Breaker.validate(bad)
	validateCredentials(bad, "push.clickpost_keys", c.Push.ClickpostKeys)
	validateCredentials(bad, "push.fulfilment_secrets", c.Push.FulfilmentSecrets)
	validateCredentials(bad, "push.shiprocket_tokens", c.Push.ShiprocketTokens)
	validateCredentials(bad, "push.delhivery_tokens", c.Push.DelhiveryTokens)
	c.Couriers.validate(bad)
	c.Sweep.validate(bad)
	c.checkDevCredentials(bad)
	c.NetworkRules.validate(bad)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be one of debug, info, warn, error")
	}
	return errors.Join(errs...)
}

func positive(bad func(key, msg string), key string, d time.Duration) {
	if d <= 0 {
		bad(key, "must be a positive duration such as 5s")
	}
}

func isHostPort(s string) bool {
	_, port, err := net.SplitHostPort(s)
	return err == nil && port != ""
}
