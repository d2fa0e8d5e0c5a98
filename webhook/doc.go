// Package webhook is the configurable outgoing-webhook system of seed 000:
// conditions decide whether a webhook fires, a payload mapping builds its body
// from dot paths into the event data, token auth fetches and caches a bearer
// token, and Client POSTs with an idempotency key. It knows nothing of Temporal
// or Mongo: activities feed it configuration and record what it did.
package webhook
