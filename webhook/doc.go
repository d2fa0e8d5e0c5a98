// Package webhook is the CRM's configurable webhook, as the in-house webhook
// system defined it: conditions decide whether a webhook fires for an event,
// a payload mapping builds its body from dot paths into the event data, and
// token auth (Tokens) fetches and caches the bearer token the CRM wants. The
// configuration is stored in MongoDB, so dot paths also walk BSON documents
// (bson.M, bson.D) and keys are checked against what MongoDB can store. The
// POST itself, its retries, signatures and attempt log belong to package
// delivery, the one sender of every outgoing webhook.
package webhook
