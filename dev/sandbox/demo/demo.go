// Package demo seeds the sandbox: the merchant's demo orders and marketplaces
// (written straight to Mongo, as the merchant's own system would) and seed
// 000's five-step webhook configuration (created through the configuration
// API, as an operator would).
package demo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orderflow/dev/sandbox/crm"
	"orderflow/store"
)

// PostFunc creates a resource through the configuration API and returns the created document.
type PostFunc func(path string, body any) (map[string]any, error)

// CRMCredentials are the sandbox CRM's client credentials.
type CRMCredentials struct {
	BaseURL      string
	ClientID     string
	ClientSecret string
}

// ConfigureRTOWebhook creates the webhook configuration the in-house RTO cron
// required — event, token auth, payload mapping, condition, webhook — and
// returns the webhook's id.
func ConfigureRTOWebhook(post PostFunc, c CRMCredentials) (string, error) {
	if _, err := post("/v1/events", map[string]any{"name": "order.rto", "module_name": "order",
		"description": "an order reached RTO for the first time"}); err != nil {
		return "", err
	}
	auth, err := post("/v1/auths", map[string]any{
		"name": "crm", "auth_url": c.BaseURL + crm.TokenPath, "response_token_path": "access_token",
		"auth_payload": map[string]any{"client_id": c.ClientID, "client_secret": c.ClientSecret, "grant_type": "client_credentials"},
	})
	if err != nil {
		return "", err
	}
	payload, err := post("/v1/payloads", map[string]any{
		"name": "crm-cancel-order", "module_name": "order",
		"mapping": map[string]any{"phone_number": "customer.phone", "order_id": "order_id", "order_source": "source",
			"order_value": "total_amt", "status": "status"},
	})
	if err != nil {
		return "", err
	}
	if _, err := post("/v1/conditions", map[string]any{
		"event": "order.rto", "field": "tracking_status", "operator": "in", "value": "rto,rto in transit", "group": 1,
	}); err != nil {
		return "", err
	}
	hook, err := post("/v1/webhooks", map[string]any{
		"name": "crm-cancel-order", "url": c.BaseURL + crm.CancelPath, "module_name": "order",
		"events": []string{"order.rto"}, "auth_id": auth["id"], "payload_id": payload["id"],
	})
	if err != nil {
		return "", err
	}
	id, _ := hook["id"].(string)
	return id, nil
}

// Order is a demo order as listed to the user.
type Order struct {
	ID          string
	AWB         string
	Marketplace string
}

var marketplaces = []struct {
	id   string
	name string
}{
	{"64b000000000000000000001", "Shopify"},
	{"64b000000000000000000002", "WooCommerce"},
}

// SeedOrders upserts n demo orders (fixed ids, so re-running changes nothing)
// and their marketplaces.
func SeedOrders(ctx context.Context, db *mongo.Database, n int) ([]Order, error) {
	for _, m := range marketplaces {
		oid, _ := bson.ObjectIDFromHex(m.id)
		if _, err := db.Collection(store.MarketplacesCollection).UpdateOne(ctx, bson.M{"_id": oid},
			bson.M{"$set": bson.M{"name": m.name}}, options.UpdateOne().SetUpsert(true)); err != nil {
			return nil, fmt.Errorf("seed marketplaces: %w", err)
		}
	}
	out := make([]Order, n)
	for i := range out {
		mp := marketplaces[i%len(marketplaces)]
		id := fmt.Sprintf("64a%021x", i+1)
		oid, _ := bson.ObjectIDFromHex(id)
		mpID, _ := bson.ObjectIDFromHex(mp.id)
		awb := fmt.Sprintf("5793081%07d", i+1)
		doc := bson.M{
			"marketplace": mpID, "awb": awb, "courier_name": "delhivery", "total_amt": float64(499 + 100*i),
			"customer": bson.M{"name": fmt.Sprintf("Demo Customer %d", i+1), "phone": fmt.Sprintf("98765%05d", i+1)},
		}
		if _, err := db.Collection(store.OrdersCollection).UpdateOne(ctx, bson.M{"_id": oid},
			bson.M{"$setOnInsert": doc}, options.UpdateOne().SetUpsert(true)); err != nil {
			return nil, fmt.Errorf("seed orders: %w", err)
		}
		out[i] = Order{ID: id, AWB: awb, Marketplace: mp.name}
	}
	return out, nil
}
