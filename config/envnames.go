package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/caarlos0/env/v11"
)

// NonKeyVariables are the ORDERFLOW_* variables that are not configuration
// keys but are still read, each with what reads it. Every other ORDERFLOW_*
// variable must be a configuration key, so a misspelt override stops the
// process instead of silently leaving the default in place.
var NonKeyVariables = map[string]string{
	"ORDERFLOW_CONFIG":             "the configuration file's path (the binaries' -config flag default)",
	"ORDERFLOW_RECORD_HISTORY_DIR": "integration tests: where to record workflow histories for the replay tests",
}

// EnvVariables lists every ORDERFLOW_* variable that overrides a configuration key.
func EnvVariables() []string {
	params, err := env.GetFieldParamsWithOptions(&Config{}, env.Options{Prefix: EnvPrefix})
	if err != nil {
		panic(fmt.Sprintf("config: the Config struct's env tags are broken: %v", err)) // a programming error
	}
	names := make([]string, 0, len(params))
	for _, p := range params {
		names = append(names, p.Key)
	}
	slices.Sort(names)
	return names
}

// checkEnvNames fails on every ORDERFLOW_* variable in environ ("NAME=value")
// that is neither a configuration key nor one of NonKeyVariables, naming it
// (never its value) and the closest real key.
func checkEnvNames(environ []string) error {
	known := EnvVariables()
	var errs []error
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || slices.Contains(known, name) {
			continue
		}
		if _, ok := NonKeyVariables[name]; ok {
			continue
		}
		msg := "config: " + name + ": unknown environment variable, no configuration key has this name"
		if near := closest(name, known); near != "" {
			msg += " (did you mean " + near + "?)"
		}
		errs = append(errs, errors.New(msg))
	}
	return errors.Join(errs...)
}

// closest is the known name within a few edits of name, if any.
func closest(name string, known []string) string {
	best, bestDist := "", 4
	for _, k := range known {
		if d := editDistance(name, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
