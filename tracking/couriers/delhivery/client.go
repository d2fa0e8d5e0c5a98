// Package delhivery is the Delhivery B2C (Express) poll client and its
// status table: GET packages/json with up to 50 waybills and Token auth. It
// serves the Delhivery primary tracker and the fallback tracker.
package delhivery

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"orderflow/tracking"
	"orderflow/tracking/couriers"
)

// MaxWaybills is the most waybills one packages/json call takes.
const MaxWaybills = 50

// TrackPath is the tracking endpoint under the base URL.
const TrackPath = "/api/v1/packages/json/"

// MinLimitBackoff is the least wait after the WAF's 403 (docs/couriers.md: at least 30 s).
const MinLimitBackoff = 30 * time.Second

// Options configure a Client.
type Options struct {
	BaseURL string
	Token   string
	Timeout time.Duration
	// LimitBackoff is how long to wait after a 403 from the WAF (at least 30 s in production).
	LimitBackoff time.Duration
}

// Client tracks Delhivery B2C waybills.
type Client struct {
	r            *resty.Client
	limitBackoff time.Duration
}

// New builds a client. The token goes in a header only; it never reaches an error or a log.
func New(o Options) *Client {
	r := resty.New().SetBaseURL(strings.TrimRight(o.BaseURL, "/")).SetTimeout(o.Timeout).
		SetHeader("Authorization", "Token "+o.Token).SetHeader("Accept", "application/json")
	return &Client{r: r, limitBackoff: o.LimitBackoff}
}

type response struct {
	ShipmentData []struct {
		Shipment shipment `json:"Shipment"`
	} `json:"ShipmentData"`
	Success *bool  `json:"Success"`
	Error   string `json:"Error"`
}

type shipment struct {
	AWB              string  `json:"AWB"`
	RTOStartedDate   *string `json:"RTOStartedDate"`
	ReverseInTransit bool    `json:"ReverseInTransit"`
	Status           struct {
		Status         string `json:"Status"`
		StatusType     string `json:"StatusType"`
		StatusCode     string `json:"StatusCode"`
		StatusDateTime string `json:"StatusDateTime"`
	} `json:"Status"`
}

var _ couriers.Poller = (*Client)(nil)

// API is the courier API this client calls (couriers.Poller).
func (c *Client) API() string { return tracking.APIDelhivery }

// MaxPerCall is MaxWaybills (couriers.Poller).
func (c *Client) MaxPerCall() int { return MaxWaybills }

// Track asks for up to MaxWaybills waybills in one call and returns one
// Shipment per waybill asked, Found=false for those Delhivery has no data on.
// The WAF's 403 becomes a *couriers.RateLimitedError.
func (c *Client) Track(ctx context.Context, waybills []string) ([]couriers.Shipment, error) {
	if len(waybills) == 0 {
		return nil, nil
	}
	if len(waybills) > MaxWaybills {
		return nil, fmt.Errorf("delhivery: %d waybills in one call, at most %d", len(waybills), MaxWaybills)
	}
	resp, err := c.r.R().SetContext(ctx).
		SetQueryParam("waybill", strings.Join(waybills, ",")).SetQueryParam("verbose", "0").
		Get(TrackPath)
	if err != nil {
		return nil, fmt.Errorf("delhivery: track: %w", err)
	}
	switch code := resp.StatusCode(); {
	case code == http.StatusForbidden || code == http.StatusTooManyRequests:
		wait := couriers.RetryAfter(resp.Header(), time.Now(), c.limitBackoff, c.limitBackoff)
		return nil, &couriers.RateLimitedError{Courier: tracking.APIDelhivery, StatusCode: code, Wait: wait}
	case code != http.StatusOK:
		return nil, fmt.Errorf("delhivery: track: HTTP %d", code)
	}
	return Parse(resp.Body(), waybills)
}

// Parse reads a packages/json body. Unknown waybills come back as HTTP 200
// with {"Success":false,"Error":"Data does not exists…"} and no ShipmentData,
// or (unverified) are simply missing from a partial ShipmentData: both give Found=false.
func Parse(body []byte, asked []string) ([]couriers.Shipment, error) {
	var r response
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("delhivery: unreadable body: %w", err)
	}
	if r.ShipmentData == nil && (r.Success == nil || *r.Success) {
		return nil, fmt.Errorf("delhivery: body has neither ShipmentData nor an error")
	}
	byAWB := make(map[string]couriers.Shipment, len(r.ShipmentData))
	for _, d := range r.ShipmentData {
		s := d.Shipment
		st := Status{
			Status: s.Status.Status, StatusType: s.Status.StatusType, StatusCode: s.Status.StatusCode,
			ReverseInTransit: s.ReverseInTransit, RTOStarted: s.RTOStartedDate != nil && *s.RTOStartedDate != "",
		}
		at, _ := couriers.ParseIST(s.Status.StatusDateTime)
		byAWB[s.AWB] = couriers.Shipment{AWB: s.AWB, Found: true, Raw: st.Raw(), Mapping: Map(st), EventTime: at}
	}
	out := make([]couriers.Shipment, len(asked))
	for i, awb := range asked {
		if s, ok := byAWB[awb]; ok {
			out[i] = s
		} else {
			out[i] = couriers.Shipment{AWB: awb}
		}
	}
	return out, nil
}
