package couriers

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orderflow/store"
	"orderflow/tracking"
)

// Step is one courier state of a demo shipment.
type Step struct {
	Delhivery  *DelhiveryStatus
	B2B        string
	Shiprocket *ShiprocketStatus
}

// DemoShipment is a demo order and the journey the scenario moves it through.
type DemoShipment struct {
	OrderID     string
	AWB         string
	CourierName string
	Story       string
	// WantsCRMPost says whether its journey is a first RTO the CRM must hear of.
	WantsCRMPost bool
	Steps        []Step
}

func dl(status, typ, code string) Step {
	return Step{Delhivery: &DelhiveryStatus{Status: status, StatusType: typ, StatusCode: code}}
}

func sr(code int, label string, isReturn bool) Step {
	return Step{Shiprocket: &ShiprocketStatus{Code: code, Label: label, IsReturn: isReturn}}
}

// DemoShipments are the sweep's demo orders: forward deliveries, NDR, RTO
// through each courier's RTO codes, customer returns and cancellations, and a
// Shiprocket order only Delhivery knows (the fallback tracker's).
func DemoShipments() []DemoShipment {
	id := func(n int) string { return fmt.Sprintf("64c%021x", n) }
	return []DemoShipment{
		{id(1), "57930820000001", tracking.CourierNameDelhivery, "Delhivery: delivered", false,
			[]Step{dl("Manifested", "UD", "X-UCI"), dl("In Transit", "UD", "X-PPOM"), dl("Dispatched", "UD", "X-DDD3FD"), dl("Delivered", "DL", "EOD-38")}},
		{id(2), "57930820000002", tracking.CourierNameDelhivery, "Delhivery: NDR, then RTO (RT), RTO delivered", true,
			[]Step{dl("In Transit", "UD", "X-PPOM"), dl("Pending", "UD", "EOD-74"), dl("In Transit", "RT", "RT-101"), dl("RTO", "DL", "RT-110")}},
		{id(3), "57930820000003", tracking.CourierNameDelhivery, "Delhivery: customer return (PP/PU, DTO)", false,
			[]Step{dl("Open", "PP", "X-ASP"), dl("In Transit", "PU", "X-PIOM"), dl("Dispatched", "PU", "X-PDDF"), dl("DTO", "DL", "EOD-600")}},
		{id(4), "57930820000004", tracking.CourierNameDelhivery, "Delhivery: seller-cancelled, reads Returned", false,
			[]Step{dl("Manifested", "UD", "X-UCI"), dl("Not Picked", "UD", "DTUP-210"), dl("Returned", "CN", "CN-001")}},
		{id(5), "220011223", tracking.CourierNameDelhiveryB2B, "Delhivery B2B: reattempt, RETURNED_INTRANSIT, RETURN_DELIVERED", true,
			[]Step{{B2B: "PICKED_UP"}, {B2B: "LEFT_ORIGIN"}, {B2B: "UNDEL_REATTEMPT"}, {B2B: "RETURNED_INTRANSIT"}, {B2B: "RETURN_DELIVERED"}}},
		{id(6), "19041120000006", tracking.CourierNameShiprocket, "Shiprocket: undelivered, RTO Initiated (9), RTO in transit (46), RTO delivered (10)", true,
			[]Step{sr(18, "In Transit", false), sr(21, "Undelivered", false), sr(9, "RTO Initiated", false), sr(46, "RTO In Transit", false), sr(10, "RTO Delivered", false)}},
		{id(7), "19041120000007", tracking.CourierNameShiprocket, "Shiprocket: delivered", false,
			[]Step{sr(42, "Picked Up", false), sr(18, "In Transit", false), sr(17, "Out For Delivery", false), sr(7, "Delivered", false)}},
		{id(8), "19041120000008", tracking.CourierNameShiprocket, "Shiprocket: customer return (is_return), RTO-looking codes", false,
			[]Step{sr(42, "Picked Up", true), sr(46, "RTO In Transit", true), sr(7, "Delivered", true)}},
		{id(9), "19041120000009", tracking.CourierNameShiprocket, "Shiprocket: cancelled", false,
			[]Step{sr(27, "Pickup Booked", false), sr(8, "Canceled", false)}},
		{id(10), "57930820000010", tracking.CourierNameShiprocket, "Shiprocket has no data; Delhivery (fallback) sees RTO", true,
			[]Step{dl("In Transit", "UD", "X-PPOM"), dl("In Transit", "RT", "RT-101")}},
	}
}

// apply sets a step on the sandbox.
func (s *Sandbox) apply(awb string, st Step) {
	switch {
	case st.Delhivery != nil:
		s.SetDelhivery(awb, *st.Delhivery)
	case st.Shiprocket != nil:
		s.SetShiprocket(awb, *st.Shiprocket)
	case st.B2B != "":
		s.SetB2B(awb, st.B2B)
	}
}

// RunScenario puts every demo shipment on its first step, then every tick
// moves each one a step further once a poll has seen its current step, so
// every state of the story reaches the sweep whatever its interval.
func (s *Sandbox) RunScenario(ctx context.Context, tick time.Duration) {
	shipments := DemoShipments()
	next := make([]int, len(shipments))
	for {
		for i, d := range shipments {
			if next[i] < len(d.Steps) && (next[i] == 0 || s.Seen(d.AWB)) {
				s.apply(d.AWB, d.Steps[next[i]])
				next[i]++
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(tick):
		}
	}
}

// SeedDemoShipments upserts the demo shipments' orders (fixed ids: re-running changes nothing).
func SeedDemoShipments(ctx context.Context, db *mongo.Database) error {
	mp, _ := bson.ObjectIDFromHex("64b000000000000000000001")
	if _, err := db.Collection(store.MarketplacesCollection).UpdateOne(ctx, bson.M{"_id": mp},
		bson.M{"$setOnInsert": bson.M{"name": "Shopify"}}, options.UpdateOne().SetUpsert(true)); err != nil {
		return fmt.Errorf("seed marketplace: %w", err)
	}
	for i, d := range DemoShipments() {
		oid, _ := bson.ObjectIDFromHex(d.OrderID)
		doc := bson.M{"marketplace": mp, "awb": d.AWB, "courier_name": d.CourierName, "total_amt": float64(799 + 100*i),
			"customer":        bson.M{"name": fmt.Sprintf("Sweep Customer %d", i+1), "phone": fmt.Sprintf("98700%05d", i+1)},
			"tracking_status": "booked"}
		if _, err := db.Collection(store.OrdersCollection).UpdateOne(ctx, bson.M{"_id": oid},
			bson.M{"$setOnInsert": doc}, options.UpdateOne().SetUpsert(true)); err != nil {
			return fmt.Errorf("seed sweep demo orders: %w", err)
		}
	}
	return nil
}
