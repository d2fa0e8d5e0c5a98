// Package delivery is orderflow's one outgoing-webhook sender. The CRM's
// cancel-order POST and the merchant's signed payment webhook both go through
// Sender.Deliver, which owns what every outgoing webhook shares:
//
//   - the POST itself: exact body bytes, a timeout per POST, no redirects,
//     credentials from an Auth (refreshed once after a 401);
//   - outgoing signatures (sign.go): hex HMAC-SHA512 and Standard Webhooks;
//   - the attempt log: every POST becomes an Attempt handed to the caller's Log,
//     which writes it to that receiver's own collection;
//   - the counters: one outcome per delivery, one latency per POST;
//   - the retry model (schedule.go): Temporal's activity retry runs the
//     retries, and a Schedule (exponential back-off or a list of delays)
//     decides each wait through NextRetryDelay.
//
// What differs between receivers is data, not code: a Channel says how a
// receiver's answers are judged, which schedule it follows and which error
// types its workflow's retry policy knows. Inbound signature checks live with
// the inbound parsers, never here.
package delivery
