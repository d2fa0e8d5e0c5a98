package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"orderflow/recovery"
)

// NetworkRules are the card networks' retry rules revenue recovery checks
// before every charge (docs/card-network-rules.md).
type NetworkRules struct {
	// Enabled switches the rules on; off, charges follow the profile's schedule alone.
	Enabled bool `yaml:"enabled" env:"ENABLED"`
	// Limits: card brand → its rolling windows. A brand left out is not counted.
	Limits NetworkLimits `yaml:"limits" env:"LIMITS"`
}

// NetworkLimit is one rolling window: at most Max attempts on one card (and
// one amount, when PerAmount) in any Window.
type NetworkLimit struct {
	Window    time.Duration `yaml:"window"`
	Max       int           `yaml:"max"`
	PerAmount bool          `yaml:"per_amount"`
}

// NetworkLimits maps a card brand to its windows. In the environment it is
// written "visa=720h/15/amount;mastercard=24h/10,720h/35".
type NetworkLimits map[string][]NetworkLimit

// UnmarshalText parses the environment form.
func (n *NetworkLimits) UnmarshalText(text []byte) error {
	out := NetworkLimits{}
	for _, entry := range strings.Split(string(text), ";") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		brand, windows, ok := strings.Cut(entry, "=")
		if !ok || brand == "" {
			return errors.New(`want "brand=window/max[/amount],…;brand=…"`)
		}
		out[brand] = []NetworkLimit{}
		for _, w := range strings.Split(windows, ",") {
			l, err := parseNetworkLimit(w)
			if err != nil {
				return fmt.Errorf("%s: %w", brand, err)
			}
			out[brand] = append(out[brand], l)
		}
	}
	*n = out
	return nil
}

func parseNetworkLimit(s string) (NetworkLimit, error) {
	parts := strings.Split(strings.TrimSpace(s), "/")
	if len(parts) < 2 || len(parts) > 3 || (len(parts) == 3 && parts[2] != "amount") {
		return NetworkLimit{}, fmt.Errorf("%q: want window/max or window/max/amount", s)
	}
	window, err := time.ParseDuration(parts[0])
	if err != nil {
		return NetworkLimit{}, fmt.Errorf("%q: window: %w", s, err)
	}
	maxAttempts, err := strconv.Atoi(parts[1])
	if err != nil {
		return NetworkLimit{}, fmt.Errorf("%q: max: %w", s, err)
	}
	return NetworkLimit{Window: window, Max: maxAttempts, PerAmount: len(parts) == 3}, nil
}

// DefaultNetworkRules: on, with Visa's and Mastercard's published limits.
func DefaultNetworkRules() NetworkRules {
	def := recovery.DefaultNetworkRules()
	n := NetworkRules{Enabled: def.Enabled, Limits: NetworkLimits{}}
	for brand, limits := range def.Limits {
		for _, l := range limits {
			n.Limits[brand] = append(n.Limits[brand], NetworkLimit{Window: l.Window, Max: l.Max, PerAmount: l.PerAmount})
		}
	}
	return n
}

// Rules converts the configuration to the domain's rules.
func (n NetworkRules) Rules() recovery.NetworkRules {
	r := recovery.NetworkRules{Enabled: n.Enabled, Limits: map[string][]recovery.NetworkLimit{}}
	for brand, limits := range n.Limits {
		r.Limits[brand] = []recovery.NetworkLimit{}
		for _, l := range limits {
			r.Limits[brand] = append(r.Limits[brand], recovery.NetworkLimit{Window: l.Window, Max: l.Max, PerAmount: l.PerAmount})
		}
	}
	return r
}

func (n NetworkRules) validate(bad func(key, msg string)) {
	if err := n.Rules().Validate("network_rules.limits"); err != nil {
		key, msg, _ := strings.Cut(err.Error(), ": ")
		bad(key, msg)
	}
}
