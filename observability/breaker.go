package observability

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BreakerSample is one destination's circuit breaker state as the store holds it.
type BreakerSample struct {
	Kind, DestinationID, State string
}

// breakerStateDesc is orderflow_endpoint_breaker_state: 1 for each
// destination's current state and 0 for the others, by kind, destination id
// (a CRM webhook id or a merchant profile id, never the URL) and state.
var breakerStateDesc = prometheus.NewDesc("orderflow_endpoint_breaker_state",
	"1 for each outgoing webhook destination's circuit breaker state (closed, open, half_open, disabled), 0 for the others.",
	[]string{"kind", "destination_id", "state"}, nil)

// breakerCollector reads every destination's breaker from the store at
// scrape time: one source of truth, whichever worker changed it last.
type breakerCollector struct {
	list   func(ctx context.Context) ([]BreakerSample, error)
	states []string
}

// RegisterBreakerStates exports orderflow_endpoint_breaker_state on m,
// read through list at each scrape (a failed read exports nothing that
// scrape). Registering it again on the same metrics is a no-op.
func (m *Metrics) RegisterBreakerStates(list func(ctx context.Context) ([]BreakerSample, error), states []string) {
	_ = m.Registry.Register(breakerCollector{list: list, states: states})
}

func (c breakerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- breakerStateDesc }

func (c breakerCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	samples, err := c.list(ctx)
	if err != nil {
		return
	}
	for _, s := range samples {
		for _, st := range c.states {
			v := 0.0
			if st == s.State {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(breakerStateDesc, prometheus.GaugeValue, v, s.Kind, s.DestinationID, st)
		}
	}
}
