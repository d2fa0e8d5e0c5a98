// Package recovery is revenue recovery's domain, free of Temporal and Mongo:
// verifying each billing platform's webhook signature over the raw bytes,
// parsing its payloads into one Event, deciding the RecoveryAction of seed 004,
// scheduling retries (cascading as Hyperswitch does, smart decline-aware) and
// building and signing the merchant's payment_succeeded webhook of seed 003.
package recovery
