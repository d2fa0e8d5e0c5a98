// Package recovery is revenue recovery's domain, free of Temporal, Mongo and
// network I/O: the billing platforms (one file each behind Platform: its
// webhook signature scheme over the raw bytes, its payloads parsed into one
// Event, and the calls recovery makes to its API, described for
// recovery/connector to send), Hyperswitch's RecoveryAction table, retry scheduling (cascading as
// Hyperswitch does, smart decline-aware) and the body of the merchant's
// payment_succeeded webhook, which package delivery signs and sends.
package recovery
