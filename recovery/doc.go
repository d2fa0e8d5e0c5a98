// Package recovery is revenue recovery's domain, free of Temporal and Mongo:
// verifying each billing platform's webhook signature over the raw bytes,
// parsing its payloads into one Event, deciding the RecoveryAction from
// Hyperswitch's table, scheduling retries (cascading as Hyperswitch does,
// smart decline-aware) and building the body of the merchant's
// payment_succeeded webhook, which package delivery signs and sends.
package recovery
