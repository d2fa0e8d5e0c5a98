package couriers

import (
	"context"
	"fmt"
	"slices"
)

// Poller is one courier API's tracking client.
type Poller interface {
	// API is the courier API's name (a tracking.API* value): its task queue,
	// rate limit, configuration key and metrics label.
	API() string
	// MaxPerCall is the most AWBs one call of the API takes.
	MaxPerCall() int
	// Track asks the courier about at most MaxPerCall AWBs in one call and
	// returns one Shipment per AWB asked, Found=false for those it has no data
	// on. A "too many requests" answer is a *RateLimitedError.
	Track(ctx context.Context, awbs []string) ([]Shipment, error)
}

// Registry holds the configured courier APIs' pollers, by API name.
type Registry struct {
	byAPI map[string]Poller
}

// NewRegistry registers pollers. Two for one API is a wiring mistake and
// panics, as a second http.ServeMux pattern for one route does.
func NewRegistry(pollers ...Poller) *Registry {
	r := &Registry{byAPI: make(map[string]Poller, len(pollers))}
	for _, p := range pollers {
		if _, dup := r.byAPI[p.API()]; dup {
			panic(fmt.Sprintf("couriers: two pollers for API %s", p.API()))
		}
		r.byAPI[p.API()] = p
	}
	return r
}

// Poller returns the API's poller; false when the API is not configured.
func (r *Registry) Poller(api string) (Poller, bool) {
	if r == nil {
		return nil, false
	}
	p, ok := r.byAPI[api]
	return p, ok
}

// APIs lists the registered APIs in name order.
func (r *Registry) APIs() []string {
	if r == nil {
		return nil
	}
	apis := make([]string, 0, len(r.byAPI))
	for api := range r.byAPI {
		apis = append(apis, api)
	}
	slices.Sort(apis)
	return apis
}
