package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Collections of delivery records and re-drive audits.
const (
	DeliveryRecordsCollection = "delivery_records"
	RedriveAuditsCollection   = "redrive_audits"
	RedriveOutcomesCollection = "redrive_outcomes"
)

// Kinds of delivery record: whose webhook it is.
const (
	KindCRMWebhook      = "crm_webhook"      // a CRM webhook's POST for one order
	KindMerchantWebhook = "merchant_webhook" // a merchant profile's event for one invoice
)

// Statuses of a delivery record.
const (
	RecordPending   = "pending"   // being tried
	RecordDelivered = "delivered" // the receiver answered 2xx
	RecordRejected  = "rejected"  // a final answer (a 4xx other than 401, 408, 429), or the configuration is gone
	RecordExhausted = "exhausted" // the retry schedule or window ran out
	RecordParked    = "parked"    // held back while its endpoint is unhealthy (the circuit breaker sets it)
)

// RecordStatuses lists every status, for validation.
var RecordStatuses = []string{RecordPending, RecordDelivered, RecordRejected, RecordExhausted, RecordParked}

// DeliveryRecord is one event for one destination: a CRM webhook's POST for
// an order, or a merchant profile's event for an invoice. Its _id is the
// idempotency key (CRM) or the event id (merchant), so every write of the
// same delivery lands on the same document. It keeps only what a re-drive
// needs to send the event again: never the URL, a secret or a token.
type DeliveryRecord struct {
	ID            string `bson:"_id" json:"id"`
	Kind          string `bson:"kind" json:"kind"`
	DestinationID string `bson:"destination_id" json:"destination_id"` // webhook id or profile id
	Event         string `bson:"event" json:"event"`
	OrderID       string `bson:"order_id,omitempty" json:"order_id,omitempty"`
	InvoiceID     string `bson:"invoice_id,omitempty" json:"invoice_id,omitempty"`
	// WorkflowID is the workflow that first delivered it (RTOCancel, RevenueRecovery).
	WorkflowID     string `bson:"workflow_id" json:"workflow_id"`
	IdempotencyKey string `bson:"idempotency_key,omitempty" json:"idempotency_key,omitempty"`
	EventID        string `bson:"event_id,omitempty" json:"event_id,omitempty"`
	Status         string `bson:"status" json:"status"`
	// Attempts counts the POSTs made, re-drives included.
	Attempts       int       `bson:"attempts" json:"attempts"`
	LastStatusCode int       `bson:"last_status_code,omitempty" json:"last_status_code,omitempty"`
	LastError      string    `bson:"last_error,omitempty" json:"last_error,omitempty"`
	CreatedAt      time.Time `bson:"created_at" json:"created_at"`
	UpdatedAt      time.Time `bson:"updated_at" json:"updated_at"`
	LastAttemptAt  time.Time `bson:"last_attempt_at,omitempty" json:"last_attempt_at,omitzero"`
	DeliveredAt    time.Time `bson:"delivered_at,omitempty" json:"delivered_at,omitzero"`
	// ExpiresAt is when the TTL index removes the record: the last write plus the retention.
	ExpiresAt time.Time `bson:"expires_at" json:"expires_at"`
	// Data is the CRM payload's input (the webhook system's buildingData),
	// rebuilt through the webhook's current mapping on a re-drive.
	Data map[string]any `bson:"data,omitempty" json:"-"`
	// Body is the merchant webhook's exact body, sent unchanged on a re-drive.
	Body []byte `bson:"body,omitempty" json:"-"`
	// Redrives counts the re-drives that sent it; LastRedriveID names the latest.
	Redrives      int    `bson:"redrives,omitempty" json:"redrives,omitempty"`
	LastRedriveID string `bson:"last_redrive_id,omitempty" json:"last_redrive_id,omitempty"`
	// ParkedAt is when the delivery first parked behind its unhealthy
	// endpoint (kept on later parkings, so a drain keeps its place in line);
	// ParkReason says why it is parked now (open, disabled, draining).
	ParkedAt   time.Time `bson:"parked_at,omitempty" json:"parked_at,omitzero"`
	ParkReason string    `bson:"park_reason,omitempty" json:"park_reason,omitempty"`
}

// RecordWrite is one write to a delivery record: when the delivery starts
// (Status pending, no attempts) or after its POSTs.
type RecordWrite struct {
	Record DeliveryRecord // identity and event data: written only when the record is created
	// Status, when set, replaces the record's status; pending never replaces another status.
	Status        string
	Attempts      int // POSTs made by this write's delivery
	LastCode      int
	LastError     string
	LastAttemptAt time.Time
	RedriveID     string // set by a re-drive
	// ParkReason goes with Status parked: why the endpoint holds it back.
	ParkReason string
	// Resume puts a parked record back to pending: its delivery goes on.
	Resume    bool
	At        time.Time
	Retention time.Duration
}

// WriteDeliveryRecord creates the record if it is missing and applies w, in
// one upsert keyed by the idempotency key or event id: a repeated write (an
// activity retried) never makes a second record.
func (s *Store) WriteDeliveryRecord(ctx context.Context, w RecordWrite) error {
	r := w.Record
	if r.ID == "" {
		return errors.New("delivery_records: a record needs its idempotency key or event id")
	}
	insert := bson.D{
		{Key: "kind", Value: r.Kind}, {Key: "destination_id", Value: r.DestinationID}, {Key: "event", Value: r.Event},
		{Key: "workflow_id", Value: r.WorkflowID}, {Key: "created_at", Value: w.At},
	}
	for _, f := range []struct{ key, v string }{{"order_id", r.OrderID}, {"invoice_id", r.InvoiceID}, {"idempotency_key", r.IdempotencyKey}, {"event_id", r.EventID}} {
		if f.v != "" {
			insert = append(insert, bson.E{Key: f.key, Value: f.v})
		}
	}
	if r.Data != nil {
		insert = append(insert, bson.E{Key: "data", Value: r.Data})
	}
	if r.Body != nil {
		insert = append(insert, bson.E{Key: "body", Value: r.Body})
	}
	set := bson.D{{Key: "updated_at", Value: w.At}, {Key: "expires_at", Value: w.At.Add(w.Retention)}}
	unset := bson.D{}
	switch {
	case w.Resume && (w.Status == "" || w.Status == RecordPending):
		set = append(set, bson.E{Key: "status", Value: RecordPending})
		unset = append(unset, bson.E{Key: "park_reason", Value: ""})
	case w.Status == "" || w.Status == RecordPending:
		insert = append(insert, bson.E{Key: "status", Value: RecordPending})
	default:
		set = append(set, bson.E{Key: "status", Value: w.Status})
	}
	if w.Status != RecordParked && w.Status != "" && w.Status != RecordPending {
		unset = append(unset, bson.E{Key: "park_reason", Value: ""})
	}
	if w.Status == RecordDelivered {
		set = append(set, bson.E{Key: "delivered_at", Value: w.At})
	}
	if !w.LastAttemptAt.IsZero() {
		set = append(set, bson.E{Key: "last_attempt_at", Value: w.LastAttemptAt}, bson.E{Key: "last_status_code", Value: w.LastCode},
			bson.E{Key: "last_error", Value: w.LastError})
	}
	inc := bson.D{{Key: "attempts", Value: w.Attempts}}
	if w.RedriveID != "" {
		set = append(set, bson.E{Key: "last_redrive_id", Value: w.RedriveID})
		inc = append(inc, bson.E{Key: "redrives", Value: 1})
	}
	update := bson.D{{Key: "$setOnInsert", Value: insert}, {Key: "$set", Value: set}, {Key: "$inc", Value: inc}}
	if w.Status == RecordParked {
		set = append(set, bson.E{Key: "park_reason", Value: w.ParkReason})
		update = bson.D{{Key: "$setOnInsert", Value: insert}, {Key: "$set", Value: set}, {Key: "$inc", Value: inc},
			{Key: "$min", Value: bson.D{{Key: "parked_at", Value: w.At}}}}
	}
	if len(unset) > 0 {
		update = append(update, bson.E{Key: "$unset", Value: unset})
	}
	_, err := s.coll(DeliveryRecordsCollection).UpdateOne(ctx, bson.D{{Key: "_id", Value: r.ID}}, update, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("delivery_records: upsert: %w", err)
	}
	return nil
}

// DeliveryRecord loads a record by its idempotency key or event id, or ErrNotFound.
func (s *Store) DeliveryRecord(ctx context.Context, id string) (DeliveryRecord, error) {
	var r DeliveryRecord
	err := s.coll(DeliveryRecordsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&r)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("delivery_records: find: %w", err)
	}
	return r, nil
}

// RecordFilter selects delivery records for a re-drive. Either IDs, or a
// Kind and DestinationID with optional narrowing; empty fields match all.
type RecordFilter struct {
	IDs           []string  `json:"ids,omitempty"`
	Kind          string    `json:"kind,omitempty"`
	DestinationID string    `json:"destination_id,omitempty"`
	Statuses      []string  `json:"statuses,omitempty"`
	From          time.Time `json:"from,omitzero"` // created at or after
	To            time.Time `json:"to,omitzero"`   // created before
	OrderIDs      []string  `json:"order_ids,omitempty"`
	InvoiceIDs    []string  `json:"invoice_ids,omitempty"`
}

// query is the filter's Mongo query, of ids after the cursor when after is set.
func (f RecordFilter) query(after string) bson.D {
	q, id := bson.D{}, bson.D{}
	if len(f.IDs) > 0 {
		id = append(id, bson.E{Key: "$in", Value: f.IDs})
	}
	if after != "" {
		id = append(id, bson.E{Key: "$gt", Value: after})
	}
	if len(id) > 0 {
		q = append(q, bson.E{Key: "_id", Value: id})
	}
	if f.Kind != "" {
		q = append(q, bson.E{Key: "kind", Value: f.Kind})
	}
	if f.DestinationID != "" {
		q = append(q, bson.E{Key: "destination_id", Value: f.DestinationID})
	}
	if len(f.Statuses) > 0 {
		q = append(q, bson.E{Key: "status", Value: bson.D{{Key: "$in", Value: f.Statuses}}})
	}
	created := bson.D{}
	if !f.From.IsZero() {
		created = append(created, bson.E{Key: "$gte", Value: f.From})
	}
	if !f.To.IsZero() {
		created = append(created, bson.E{Key: "$lt", Value: f.To})
	}
	if len(created) > 0 {
		q = append(q, bson.E{Key: "created_at", Value: created})
	}
	if len(f.OrderIDs) > 0 {
		q = append(q, bson.E{Key: "order_id", Value: bson.D{{Key: "$in", Value: f.OrderIDs}}})
	}
	if len(f.InvoiceIDs) > 0 {
		q = append(q, bson.E{Key: "invoice_id", Value: bson.D{{Key: "$in", Value: f.InvoiceIDs}}})
	}
	return q
}

// RecordCount is how many records a filter matches, and how many of them
// already got a 2xx (a re-drive refuses those unless forced).
type RecordCount struct {
	Matched   int64 `json:"matched"`
	Delivered int64 `json:"delivered"`
}

// CountDeliveryRecords counts the records f matches.
func (s *Store) CountDeliveryRecords(ctx context.Context, f RecordFilter) (RecordCount, error) {
	c := s.coll(DeliveryRecordsCollection)
	q := f.query("")
	matched, err := c.CountDocuments(ctx, q)
	if err != nil {
		return RecordCount{}, fmt.Errorf("delivery_records: count: %w", err)
	}
	if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, RecordDelivered) {
		return RecordCount{Matched: matched}, nil
	}
	f.Statuses = []string{RecordDelivered}
	delivered, err := c.CountDocuments(ctx, f.query(""))
	if err != nil {
		return RecordCount{}, fmt.Errorf("delivery_records: count: %w", err)
	}
	return RecordCount{Matched: matched, Delivered: delivered}, nil
}

// DeliveryRecordPage returns up to limit ids of records f matches with an id
// after the cursor, in id order: a re-drive pages through them by the
// destination_id + _id index, and resumes from the last id it handled.
func (s *Store) DeliveryRecordPage(ctx context.Context, f RecordFilter, after string, limit int64) ([]string, error) {
	q := f.query(after)
	type idOnly struct {
		ID string `bson:"_id"`
	}
	docs, err := findAll[idOnly](ctx, s.coll(DeliveryRecordsCollection), q,
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(limit).SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids, nil
}

// SearchDeliveryRecords returns up to limit records f matches with an id
// after the cursor, in _id order (unique and indexed, so pages neither
// repeat nor skip a record), without their event data. more says whether
// another page follows.
func (s *Store) SearchDeliveryRecords(ctx context.Context, f RecordFilter, after string, limit int64) (recs []DeliveryRecord, more bool, err error) {
	recs, err = findAll[DeliveryRecord](ctx, s.coll(DeliveryRecordsCollection), f.query(after),
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(limit+1).SetProjection(bson.D{{Key: "data", Value: 0}, {Key: "body", Value: 0}}))
	if err != nil {
		return nil, false, err
	}
	if int64(len(recs)) > limit {
		return recs[:limit], true, nil
	}
	return recs, false, nil
}

// MissingDeliveryRecords returns the ids that name no record.
func (s *Store) MissingDeliveryRecords(ctx context.Context, ids []string) ([]string, error) {
	found, err := s.DeliveryRecordPage(ctx, RecordFilter{IDs: ids}, "", int64(len(ids)))
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, id := range found {
		have[id] = true
	}
	missing := []string{}
	for _, id := range ids {
		if !have[id] {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

// RedriveAudit is one re-drive as audited: who asked, when, why, for which
// deliveries, and, once it ends, its totals. Each delivery's outcome is a
// RedriveOutcome of its own, so a re-drive of any size fits.
type RedriveAudit struct {
	ID     string       `bson:"_id" json:"id"` // the re-drive's workflow ID
	Actor  RedriveActor `bson:"actor" json:"actor"`
	Reason string       `bson:"reason" json:"reason"`
	Force  bool         `bson:"force" json:"force"`
	Filter RecordFilter `bson:"filter" json:"filter"`
	// RatePerSecond is the most deliveries a second it sends.
	RatePerSecond float64        `bson:"rate_per_second" json:"rate_per_second"`
	Status        string         `bson:"status" json:"status"` // running, completed
	RequestedAt   time.Time      `bson:"requested_at" json:"requested_at"`
	FinishedAt    time.Time      `bson:"finished_at,omitempty" json:"finished_at,omitzero"`
	Totals        map[string]int `bson:"totals,omitempty" json:"totals,omitempty"` // outcome → deliveries
}

// RedriveActor says who asked for a re-drive: an API key's fingerprint (never
// the key) or the operator of the CLI.
type RedriveActor struct {
	Kind string `bson:"kind" json:"kind"` // api_key or cli
	ID   string `bson:"id" json:"id"`
}

// Re-drive audit statuses.
const (
	RedriveRunning   = "running"
	RedriveCompleted = "completed"
)

// RedriveOutcome is what a re-drive did with one delivery.
type RedriveOutcome struct {
	ID         string    `bson:"_id" json:"-"` // redrive id + "/" + record id: one per delivery and re-drive
	RedriveID  string    `bson:"redrive_id" json:"redrive_id"`
	RecordID   string    `bson:"record_id" json:"record_id"`
	Outcome    string    `bson:"outcome" json:"outcome"` // delivered, rejected, failed, refused, missing
	StatusCode int       `bson:"status_code,omitempty" json:"status_code,omitempty"`
	Error      string    `bson:"error,omitempty" json:"error,omitempty"`
	At         time.Time `bson:"at" json:"at"`
}

// OpenRedriveAudit writes a re-drive's audit record if it is not there yet.
func (s *Store) OpenRedriveAudit(ctx context.Context, a RedriveAudit) error {
	_, err := s.coll(RedriveAuditsCollection).UpdateOne(ctx, bson.D{{Key: "_id", Value: a.ID}},
		bson.D{{Key: "$setOnInsert", Value: a}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("redrive_audits: upsert: %w", err)
	}
	return nil
}

// RecordRedriveOutcome writes one delivery's outcome; writing it again replaces it.
func (s *Store) RecordRedriveOutcome(ctx context.Context, o RedriveOutcome) error {
	o.ID = o.RedriveID + "/" + o.RecordID
	_, err := s.coll(RedriveOutcomesCollection).ReplaceOne(ctx, bson.D{{Key: "_id", Value: o.ID}}, o, options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("redrive_outcomes: upsert: %w", err)
	}
	return nil
}

// CloseRedriveAudit marks a re-drive completed with its totals.
func (s *Store) CloseRedriveAudit(ctx context.Context, id string, totals map[string]int, at time.Time) error {
	_, err := s.coll(RedriveAuditsCollection).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "status", Value: RedriveCompleted}, {Key: "totals", Value: totals}, {Key: "finished_at", Value: at},
	}}})
	if err != nil {
		return fmt.Errorf("redrive_audits: close: %w", err)
	}
	return nil
}

// RedriveAuditByID loads a re-drive's audit and its outcomes (at most limit), or ErrNotFound.
func (s *Store) RedriveAuditByID(ctx context.Context, id string, limit int64) (RedriveAudit, []RedriveOutcome, error) {
	var a RedriveAudit
	err := s.coll(RedriveAuditsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&a)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return a, nil, ErrNotFound
	}
	if err != nil {
		return a, nil, fmt.Errorf("redrive_audits: find: %w", err)
	}
	outcomes, err := findAll[RedriveOutcome](ctx, s.coll(RedriveOutcomesCollection), bson.D{{Key: "redrive_id", Value: id}},
		options.Find().SetSort(bson.D{{Key: "record_id", Value: 1}}).SetLimit(limit))
	return a, outcomes, err
}

// deliveryRecordIndexes are the delivery records' and re-drive audits' indexes.
func deliveryRecordIndexes() map[string][]mongo.IndexModel {
	return map[string][]mongo.IndexModel{
		DeliveryRecordsCollection: {
			// A re-drive, and a search by webhook or profile, pages through
			// one destination's records in _id order.
			{Keys: bson.D{{Key: "destination_id", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("destination_id")},
			// A search by status alone (every exhausted delivery) pages in _id order.
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("status")},
			{Keys: bson.D{{Key: "order_id", Value: 1}}, Options: options.Index().SetName("order").SetSparse(true)},
			{Keys: bson.D{{Key: "invoice_id", Value: 1}}, Options: options.Index().SetName("invoice").SetSparse(true)},
			// A drain releases one destination's parked deliveries oldest
			// first, paging by parking time (the dev server's visibility
			// store cannot order, so the order lives here).
			{Keys: bson.D{{Key: "destination_id", Value: 1}, {Key: "status", Value: 1}, {Key: "parked_at", Value: 1}, {Key: "_id", Value: 1}},
				Options: options.Index().SetName("parked")},
		},
		RedriveOutcomesCollection: {
			{Keys: bson.D{{Key: "redrive_id", Value: 1}, {Key: "record_id", Value: 1}}, Options: options.Index().SetName("redrive_record")},
		},
	}
}

// recordsTTLIndex removes a delivery record once its expires_at passes. A
// function, not a shared variable: the driver's option builders are not safe
// for two EnsureIndexes at once (the worker and the starter in one process, as
// in the tests).
func recordsTTLIndex() mongo.IndexModel {
	return mongo.IndexModel{Keys: bson.D{{Key: "expires_at", Value: 1}},
		Options: options.Index().SetName("expires_ttl").SetExpireAfterSeconds(0)}
}

// ensureRecordsTTL creates the delivery records' TTL index. The development
// store (FerretDB v1) does not implement TTL indexes: there the records are
// kept, which only a long-running development database would notice.
func (s *Store) ensureRecordsTTL(ctx context.Context) error {
	ttl := recordsTTLIndex()
	missing, err := s.missingIndexes(ctx, DeliveryRecordsCollection, []mongo.IndexModel{ttl})
	if err != nil || len(missing) == 0 {
		return err
	}
	_, err = s.coll(DeliveryRecordsCollection).Indexes().CreateOne(ctx, ttl)
	var ce mongo.CommandError
	if errors.As(err, &ce) && ce.Name == "NotImplemented" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mongo: TTL index on %s: %w", DeliveryRecordsCollection, err)
	}
	return nil
}
