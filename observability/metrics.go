package observability

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/opentelemetry"
)

// Metrics are orderflow's business counters. One instance per process,
// registered on its own registry so tests can run several side by side.
type Metrics struct {
	Registry *prometheus.Registry

	// StatusObservations counts observations applied by the status-update path, by outcome
	// (changed, unchanged_or_stale).
	StatusObservations *prometheus.CounterVec
	// FirstRTOClaims counts RTOCancel claims by outcome (won, already_claimed).
	FirstRTOClaims *prometheus.CounterVec
	// WebhookDeliveries counts outgoing webhook POSTs by outcome (delivered, retryable, rejected).
	WebhookDeliveries *prometheus.CounterVec
	// WebhookLatency observes outgoing webhook POST latency in seconds.
	WebhookLatency prometheus.Histogram
	// TokenFetches counts auth-token requests by outcome (ok, error).
	TokenFetches *prometheus.CounterVec
	// IngressRequests counts HTTP requests to the starter by route and status code.
	IngressRequests *prometheus.CounterVec
	// PushEvents counts push tracking events by source and outcome (applied, unmatched, customer_return, test, stock, ignored).
	PushEvents *prometheus.CounterVec
	// RecoveryEvents counts billing events received, by platform, action and outcome.
	RecoveryEvents *prometheus.CounterVec
	// RecoveryAttempts counts our payment retries by result (succeeded, processing, failed, error).
	RecoveryAttempts *prometheus.CounterVec
	// RecoveryWebhooks counts outgoing recovery webhook POSTs by event type and outcome (delivered, retryable, given_up).
	RecoveryWebhooks *prometheus.CounterVec
	// RecoveryWebhookLatency observes outgoing recovery webhook POST latency in seconds.
	RecoveryWebhookLatency prometheus.Histogram
	// CourierCalls counts tracking calls to courier APIs by courier and outcome (ok, rate_limited, error).
	CourierCalls *prometheus.CounterVec
	// CourierRateLimited counts courier rate-limit answers (Delhivery's 403, 429) by courier and code.
	CourierRateLimited *prometheus.CounterVec
	// CourierUnknownStatuses counts courier statuses no table maps (kept raw, never guessed).
	CourierUnknownStatuses *prometheus.CounterVec
	// SweepOrders counts orders the tracking sweep polled, by tracker and outcome.
	SweepOrders *prometheus.CounterVec
	// DestinationDeliveries counts outgoing webhook deliveries (CRM and
	// merchant alike) by kind, destination id (webhook or profile id, never
	// the URL, which can carry a token) and outcome (delivered, retryable,
	// rejected, given_up).
	DestinationDeliveries *prometheus.CounterVec
	// DestinationLatency observes every outgoing webhook POST's latency in
	// seconds by kind and destination id.
	DestinationLatency *prometheus.HistogramVec
	// EndpointsDisabled counts endpoints disabled, by kind, destination id
	// and reason (gone: a 410; failing: failing longer than disable_after).
	EndpointsDisabled *prometheus.CounterVec
	// ParkedDeliveries counts deliveries parked behind an unhealthy endpoint,
	// by kind, destination id and reason (open, disabled, draining).
	ParkedDeliveries *prometheus.CounterVec
}

// NewMetrics creates and registers the counters plus Go and process collectors.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		StatusObservations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_status_observations_total", Help: "Status observations applied to orders, by outcome.",
		}, []string{"source", "outcome"}),
		FirstRTOClaims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_first_rto_claims_total", Help: "First-RTO claims by outcome.",
		}, []string{"outcome"}),
		WebhookDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_webhook_deliveries_total", Help: "Outgoing webhook POSTs by event and outcome.",
		}, []string{"event", "outcome"}),
		WebhookLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "orderflow_webhook_delivery_seconds", Help: "Outgoing webhook POST latency.",
			Buckets: prometheus.DefBuckets,
		}),
		TokenFetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_auth_token_fetches_total", Help: "Auth token requests by outcome.",
		}, []string{"outcome"}),
		IngressRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_http_requests_total", Help: "Requests to the starter's HTTP server by route and code.",
		}, []string{"route", "code"}),
		PushEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_push_events_total", Help: "Push tracking events by source and outcome.",
		}, []string{"source", "outcome"}),
		RecoveryEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_recovery_events_total", Help: "Billing events received, by platform, recovery action and outcome.",
		}, []string{"platform", "action", "outcome"}),
		RecoveryAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_recovery_attempts_total", Help: "Revenue recovery payment retries by result.",
		}, []string{"result"}),
		RecoveryWebhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_recovery_webhooks_total", Help: "Outgoing recovery webhook POSTs by event type and outcome.",
		}, []string{"event_type", "outcome"}),
	}
	reg.MustRegister(m.RecoveryEvents, m.RecoveryAttempts, m.RecoveryWebhooks)
	reg.MustRegister(m.StatusObservations, m.FirstRTOClaims, m.WebhookDeliveries, m.WebhookLatency,
		m.TokenFetches, m.IngressRequests, m.PushEvents,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.CourierCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orderflow_courier_calls_total", Help: "Tracking calls to courier APIs by courier and outcome.",
	}, []string{"courier", "outcome"})
	m.CourierRateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orderflow_courier_rate_limited_total", Help: "Courier rate-limit answers (403, 429) by courier and code.",
	}, []string{"courier", "code"})
	m.CourierUnknownStatuses = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orderflow_courier_unknown_statuses_total", Help: "Courier statuses no mapping table knows, kept raw.",
	}, []string{"courier"})
	m.SweepOrders = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orderflow_sweep_orders_total", Help: "Orders polled by the tracking sweep, by tracker and outcome.",
	}, []string{"tracker", "outcome"})
	reg.MustRegister(m.CourierCalls, m.CourierRateLimited, m.CourierUnknownStatuses, m.SweepOrders)
	m.RecoveryWebhookLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "orderflow_recovery_webhook_delivery_seconds", Help: "Outgoing recovery webhook POST latency.",
		Buckets: prometheus.DefBuckets,
	})
	reg.MustRegister(m.RecoveryWebhookLatency)
	m.DestinationDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orderflow_destination_deliveries_total", Help: "Outgoing webhook deliveries by kind, destination id and outcome.",
	}, []string{"kind", "destination_id", "outcome"})
	m.DestinationLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "orderflow_destination_delivery_seconds", Help: "Outgoing webhook POST latency by kind and destination id.",
		Buckets: prometheus.DefBuckets,
	}, []string{"kind", "destination_id"})
	reg.MustRegister(m.DestinationDeliveries, m.DestinationLatency)
	m.EndpointsDisabled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orderflow_endpoints_disabled_total", Help: "Endpoints disabled, by kind, destination id and reason (gone, failing).",
	}, []string{"kind", "destination_id", "reason"})
	m.ParkedDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orderflow_parked_deliveries_total", Help: "Deliveries parked behind an unhealthy endpoint, by kind, destination id and reason.",
	}, []string{"kind", "destination_id", "reason"})
	reg.MustRegister(m.EndpointsDisabled, m.ParkedDeliveries)
	return m
}

// ZeroCourierSeries creates every courier series at zero for apis, so each
// is on /metrics from the start: an alert's increase() sees a counter's first
// rate-limit answer (a series born at 1 shows no increase), and the dashboard
// and alert rules can be checked against /metrics before anything went wrong.
func (m *Metrics) ZeroCourierSeries(apis []string) {
	for _, api := range apis {
		for _, outcome := range []string{"ok", "rate_limited", "error"} {
			m.CourierCalls.WithLabelValues(api, outcome)
		}
		for _, code := range []string{"403", "429"} {
			m.CourierRateLimited.WithLabelValues(api, code)
		}
		m.CourierUnknownStatuses.WithLabelValues(api)
	}
}

// TemporalMetricsHandler exports the Temporal SDK's own metrics (workflow and
// activity task latencies, schedule-to-start, failures, poller counts) on the
// same registry, through the SDK's OpenTelemetry contrib handler.
func (m *Metrics) TemporalMetricsHandler() (client.MetricsHandler, error) {
	exporter, err := otelprom.New(otelprom.WithRegisterer(m.Registry), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, err
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	h := opentelemetry.NewMetricsHandler(opentelemetry.MetricsHandlerOptions{
		Meter: provider.Meter("temporal-sdk-go"),
		// The default panics; a metric that fails to record must not take the worker down.
		OnError: func(error) {},
	})
	for _, name := range sdkRareCounters {
		h.Counter(name).Inc(0)
	}
	return h, nil
}

// sdkRareCounters are SDK counters the dashboard and the alert rules read that
// the SDK creates only on their first event (a failed workflow task, a forced
// sticky-cache eviction). A series without labels at zero keeps them on
// /metrics from the start; the SDK's own labelled series join it.
var sdkRareCounters = []string{"temporal_workflow_task_execution_failed", "temporal_sticky_cache_total_forced_eviction"}
