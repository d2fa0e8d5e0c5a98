package config

import (
	_ "embed"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// devConfig is config/dev.yaml, the development configuration `make run`
// uses. Its credentials are published with this repository, so anyone can
// sign a push or call the API with them: a process that is not in development
// mode refuses to start with any of them.
//
//go:embed dev.yaml
var devConfig []byte

// credentialField matches the YAML names of the keys that hold a secret
// (api_key, tls.key, token, password, clickpost_keys, fulfilment_secrets, …).
// Keys ending in _file hold a path, not a secret.
var credentialField = regexp.MustCompile(`(^|_)(key|keys|secret|secrets|token|tokens|password|passwords)$`)

// devCredentials are the credential values of config/dev.yaml.
var devCredentials = sync.OnceValue(func() []string {
	var dev Config
	if err := yaml.Unmarshal(devConfig, &dev); err != nil {
		panic("config: the embedded dev.yaml does not parse: " + err.Error()) // caught by the package's tests
	}
	var values []string
	for _, c := range SecretValues(dev) {
		values = append(values, c.Value)
	}
	return values
})

// SecretValue is one secret value of a configuration and its key.
type SecretValue struct {
	Key   string // e.g. "http.api_key", "push.clickpost_keys.demo"
	Value string
}

// SecretValues lists every non-empty value of cfg held by a credential key
// (see credentialField), walking every section, so a key added later is
// covered without being listed here.
func SecretValues(cfg Config) []SecretValue {
	var out []SecretValue
	walkCredentials(reflect.ValueOf(cfg), "", false, &out)
	return out
}

func walkCredentials(v reflect.Value, key string, secret bool, out *[]SecretValue) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			walkCredentials(v.Field(i), join(key, name), credentialField.MatchString(name), out)
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			walkCredentials(v.MapIndex(k), join(key, k.String()), secret, out)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			child := key
			if v.Len() > 1 {
				child += "[" + strconv.Itoa(i) + "]"
			}
			walkCredentials(v.Index(i), child, secret, out)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkCredentials(v.Elem(), key, secret, out)
		}
	case reflect.String:
		if secret && v.String() != "" {
			*out = append(*out, SecretValue{Key: key, Value: v.String()})
		}
	}
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// checkDevCredentials names every key of c that holds a credential published
// in config/dev.yaml, unless c is in development mode. The value itself is
// never named.
func (c Config) checkDevCredentials(bad func(key, msg string)) {
	if c.DevMode {
		return
	}
	known := devCredentials()
	for _, cred := range SecretValues(c) {
		if slices.Contains(known, cred.Value) {
			bad(cred.Key, "holds a development credential published in this repository (config/dev.yaml): "+
				"set a secret of your own; only a development machine may run with it, with dev_mode: true")
		}
	}
}
