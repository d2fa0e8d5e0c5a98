package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// CodecKeySize is the length of a payload encryption key: AES-256.
const CodecKeySize = 32

// Codec configures the payload codec: AES-256-GCM over every payload orderflow
// hands Temporal (workflow and activity inputs and results, signals, queries,
// updates, memos, failure messages). Several keys can be listed at once: new
// payloads are encrypted with ActiveKeyID, and a payload is decrypted with the
// key its metadata names, so a key is rotated by adding the new one, making it
// active, and removing the old one only once no history needs it
// (docs/encryption.md).
type Codec struct {
	// Enabled encrypts new payloads. With it off, listed keys still decrypt
	// what was written while it was on (turning encryption off safely).
	Enabled bool `yaml:"enabled" env:"ENABLED"`
	// ActiveKeyID names the key new payloads are encrypted with; it may be
	// left out when one key is listed.
	ActiveKeyID string `yaml:"active_key_id" env:"ACTIVE_KEY_ID"`
	// Keys maps a key id to the key, 32 bytes in standard base64. In the
	// environment: "id1:base64,id2:base64".
	Keys CodecKeys `yaml:"keys" env:"KEYS"`
	// KeysFile names a YAML file of the same id → base64 map (a mounted
	// Secret), read at start; its ids must not repeat those of Keys.
	KeysFile string      `yaml:"keys_file" env:"KEYS_FILE"`
	Server   CodecServer `yaml:"server" envPrefix:"SERVER_"`
}

// CodecServer configures the codec endpoint the starter serves at /codec/ for
// the Temporal UI (--ui-codec-endpoint) and CLI (--codec-endpoint).
type CodecServer struct {
	Enabled bool `yaml:"enabled" env:"ENABLED"`
	// Token / TokenFile: the bearer token a caller must send ("Authorization:
	// Bearer <token>", the CLI's --codec-auth). It may be left out only while
	// http.listen is a loopback address (make run).
	Token     string `yaml:"token" env:"TOKEN"`
	TokenFile string `yaml:"token_file" env:"TOKEN_FILE"`
	// AllowedOrigins are the browser origins (the Temporal UI's, e.g.
	// https://temporal.example.com) CORS lets read decoded payloads.
	AllowedOrigins []string `yaml:"allowed_origins" env:"ALLOWED_ORIGINS" envSeparator:","`
}

// CodecKeys maps a key id to its base64 key.
type CodecKeys map[string]string

// UnmarshalText parses the environment form "id1:base64,id2:base64". A
// repeated id is an error: which of the two keys is meant cannot be guessed.
func (k *CodecKeys) UnmarshalText(text []byte) error {
	out := CodecKeys{}
	for _, entry := range strings.Split(string(text), ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		id, key, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok || id == "" {
			return errors.New(`want "key-id:base64key,…"`)
		}
		if _, dup := out[id]; dup {
			return fmt.Errorf("key id %q is listed twice", id)
		}
		out[id] = key
	}
	*k = out
	return nil
}

// keyID is what a key id may look like: it is written into every payload's
// metadata and into a metric label.
var keyID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// HasKeys reports whether any key is configured.
func (c Codec) HasKeys() bool { return len(c.Keys) > 0 || c.KeysFile != "" }

// ReadKeys returns every listed key by id and the active key id, reading
// temporal.codec.keys_file. Errors name the key and the key id, never a key.
func (c Codec) ReadKeys() (map[string][]byte, string, error) {
	keys := map[string][]byte{}
	if err := addKeys(keys, "temporal.codec.keys", c.Keys); err != nil {
		return nil, "", err
	}
	if c.KeysFile != "" {
		fromFile, err := readKeysFile(c.KeysFile)
		if err != nil {
			return nil, "", err
		}
		for id := range fromFile {
			if _, dup := keys[id]; dup {
				return nil, "", keyErr("temporal.codec.keys_file", fmt.Errorf("key id %q is also in temporal.codec.keys", id))
			}
		}
		if err := addKeys(keys, "temporal.codec.keys_file", fromFile); err != nil {
			return nil, "", err
		}
	}
	if len(keys) == 0 {
		return nil, "", keyErr("temporal.codec.keys", errors.New("must list at least one key (or set temporal.codec.keys_file)"))
	}
	active := c.ActiveKeyID
	if active == "" {
		if len(keys) > 1 {
			return nil, "", keyErr("temporal.codec.active_key_id", errors.New("must name the key new payloads use when several are listed"))
		}
		for id := range keys {
			active = id
		}
	}
	if _, ok := keys[active]; !ok {
		return nil, "", keyErr("temporal.codec.active_key_id", fmt.Errorf("%q is not a listed key id", active))
	}
	return keys, active, nil
}

func addKeys(dst map[string][]byte, key string, src CodecKeys) error {
	ids := make([]string, 0, len(src))
	for id := range src {
		ids = append(ids, id)
	}
	slices.Sort(ids) // the first bad key named is the same on every start
	for _, id := range ids {
		if !keyID.MatchString(id) {
			return keyErr(key, fmt.Errorf("key id %q must match %s", id, keyID))
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(src[id]))
		if err != nil {
			return keyErr(key+"."+id, errors.New("is not standard base64"))
		}
		if len(raw) != CodecKeySize {
			return keyErr(key+"."+id, fmt.Errorf("must be %d bytes (AES-256) in base64, it is %d bytes", CodecKeySize, len(raw)))
		}
		dst[id] = raw
	}
	return nil
}

// readKeysFile parses a YAML map of key id → base64 key. A repeated id is an error.
func readKeysFile(path string) (CodecKeys, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, keyErr("temporal.codec.keys_file", fmt.Errorf("cannot read: %w", err))
	}
	keys := CodecKeys{}
	if err := yaml.NewDecoder(bytes.NewReader(raw)).Decode(&keys); err != nil && !errors.Is(err, io.EOF) {
		// yaml.v3 refuses a repeated mapping key; its message quotes the id, not the key.
		return nil, keyErr("temporal.codec.keys_file", fmt.Errorf("want a YAML map of key id to base64 key: %s", yamlReason(err)))
	}
	return keys, nil
}

// yamlReason keeps YAML's own explanation but drops any quoted value it may
// echo from a bad line (which could be a key).
func yamlReason(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "already defined") {
		return msg // "mapping key "<id>" already defined at line N"
	}
	if i := strings.Index(msg, "`"); i >= 0 {
		return msg[:i] + "…"
	}
	return msg
}

// ReadToken returns the codec server's bearer token ("" when none is set).
func (s CodecServer) ReadToken() (string, error) {
	token, name := s.Token, "temporal.codec.server.token"
	if s.TokenFile != "" {
		name = "temporal.codec.server.token_file"
		raw, err := os.ReadFile(s.TokenFile)
		if err != nil {
			return "", keyErr(name, fmt.Errorf("cannot read: %w", err))
		}
		token = strings.TrimSpace(string(raw))
		if token == "" {
			return "", keyErr(name, errors.New("is empty"))
		}
	}
	if token != "" && len(token) < 16 {
		return "", keyErr(name, errors.New("must be at least 16 characters"))
	}
	return token, nil
}

func (c Codec) validate(bad func(key, msg string), httpListen string) {
	badErr := func(err error) {
		var ke *KeyError
		if errors.As(err, &ke) {
			bad(ke.Key, ke.Err.Error())
		} else if err != nil {
			bad("temporal.codec", err.Error())
		}
	}
	if c.Enabled || c.HasKeys() || c.ActiveKeyID != "" {
		_, _, err := c.ReadKeys()
		badErr(err)
	}
	s := c.Server
	if !s.Enabled {
		return
	}
	if !c.HasKeys() {
		bad("temporal.codec.server.enabled", "needs temporal.codec.keys: the codec server decodes with them")
	}
	if s.Token != "" && s.TokenFile != "" {
		bad("temporal.codec.server.token", "set temporal.codec.server.token or temporal.codec.server.token_file, not both")
		return
	}
	token, err := s.ReadToken()
	badErr(err)
	if err == nil && token == "" && !isLoopback(httpListen) {
		bad("temporal.codec.server.token", "must be set (or token_file) unless http.listen is a loopback address: the codec server decrypts for whoever calls it")
	}
	for _, o := range s.AllowedOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			bad("temporal.codec.server.allowed_origins", fmt.Sprintf("%q must be an origin such as https://temporal.example.com", o))
		}
	}
}

// isLoopback reports whether a host:port listens on loopback only.
func isLoopback(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
