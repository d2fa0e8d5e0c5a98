package ingress

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"go.uber.org/zap"

	"orderflow/dev/devstore"
	"orderflow/observability"
	"orderflow/store"
)

const fuzzAPIKey = "fuzz-api-key-0123456789"

// fuzzAPI is one configuration API on embedded FerretDB per fuzzing process,
// holding the RTO webhook's five resources so updates have something to update.
var fuzzAPI struct {
	handler http.Handler
	ids     map[string]string // resource → id of its seed document
	stop    func()
	err     error
}

// rtoWebhookConfig is the RTO webhook's configuration (events, auths, payloads,
// conditions, webhooks), in creation order;
// "{auth}" and "{payload}" are replaced by the created ids.
var rtoWebhookConfig = []struct{ resource, body string }{
	{"events", `{"name":"order.rto","module_name":"order","description":"first RTO"}`},
	{"auths", `{"name":"crm","auth_url":"http://127.0.0.1:1/oauth/token","auth_payload":{"client_id":"c","client_secret":"fuzz-secret-value","grant_type":"client_credentials"},"response_token_path":"access_token"}`},
	{"payloads", `{"name":"crm","module_name":"order","mapping":{"phone_number":"customer.phone","order_id":"order_id","order_source":"source","order_value":"total_amt","status":"status"}}`},
	{"conditions", `{"event":"order.rto","field":"tracking_status","operator":"in","value":"rto,rto in transit","group":1}`},
	{"webhooks", `{"name":"crm","url":"http://127.0.0.1:1/api/orders/cancel","module_name":"order","events":["order.rto"],"auth_id":"{auth}","payload_id":"{payload}"}`},
}

var resources = []string{"events", "auths", "payloads", "conditions", "webhooks"}

func startFuzzAPI() {
	dir, err := os.MkdirTemp("", "orderflow-ingress-fuzz")
	if err != nil {
		fuzzAPI.err = err
		return
	}
	srv, err := devstore.Start(devstore.Options{Addr: "127.0.0.1:0", Dir: dir})
	if err != nil {
		fuzzAPI.err = err
		return
	}
	fuzzAPI.stop = func() { _ = srv.Stop(); _ = os.RemoveAll(dir) }
	ctx := context.Background()
	st, err := store.Connect(ctx, srv.URI(), "fuzz", 10*time.Second)
	if err == nil {
		stopServer := fuzzAPI.stop
		fuzzAPI.stop = func() { _ = st.Close(context.Background()); stopServer() }
	}
	if err == nil {
		err = st.EnsureIndexes(ctx)
	}
	if err != nil {
		fuzzAPI.err = err
		return
	}
	fuzzAPI.handler = Router(Deps{Store: st, APIKey: fuzzAPIKey, MaxBodyBytes: 1 << 16, Logger: zap.NewNop(), Metrics: observability.NewMetrics()})
	fuzzAPI.ids = map[string]string{}
	for _, s := range rtoWebhookConfig {
		body := bytes.ReplaceAll([]byte(s.body), []byte("{auth}"), []byte(fuzzAPI.ids["auths"]))
		body = bytes.ReplaceAll(body, []byte("{payload}"), []byte(fuzzAPI.ids["payloads"]))
		code, out := serve("POST", "/v1/"+s.resource, body)
		var created struct{ ID string }
		if code != http.StatusCreated || json.Unmarshal(out, &created) != nil {
			fuzzAPI.err = fmt.Errorf("seed %s: %d %s", s.resource, code, out)
			return
		}
		fuzzAPI.ids[s.resource] = created.ID
	}
}

func serve(method, path string, body []byte) (int, []byte) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("X-API-Key", fuzzAPIKey)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	fuzzAPI.handler.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// FuzzConfigAPIDecoding: whatever body a client sends to create or replace a
// configuration resource, the answer is a 2xx or a 4xx with an error body —
// never a 5xx, never a panic — and a secret never comes back.
func FuzzConfigAPIDecoding(f *testing.F) {
	for i, s := range rtoWebhookConfig {
		f.Add(uint8(i), false, []byte(s.body))
		f.Add(uint8(i), true, []byte(s.body))
	}
	f.Add(uint8(2), false, []byte(`{"name":"p","module_name":"order","mapping":{"$set":"a","x.y":"b","":"c"}}`))
	f.Add(uint8(1), true, []byte(`{"name":"crm","auth_url":"http://h/t","auth_payload":{"$where":"1"},"response_token_path":"a"}`))
	f.Add(uint8(4), false, []byte(`{"name":"w","url":"http://h","module_name":"order","events":["order.rto"],"payload_id":"zz"}`))
	f.Add(uint8(0), false, []byte(`{"name":"order.rto","module_name":"order"}{}`))
	f.Add(uint8(3), false, []byte(`{"event":"order.rto","field":"a","operator":"exists","value":"maybe","group":1}`))
	f.Add(uint8(2), true, []byte("\xff\xfe"))
	f.Add(uint8(1), false, []byte(`{"auth_payload":{"client_secret":123}}`))

	startFuzzAPI()
	if fuzzAPI.stop != nil {
		f.Cleanup(fuzzAPI.stop)
	}
	if fuzzAPI.err != nil {
		f.Fatal(fuzzAPI.err)
	}
	f.Fuzz(func(t *testing.T, which uint8, update bool, body []byte) {
		res := resources[int(which)%len(resources)]
		method, path := "POST", "/v1/"+res
		if update {
			method, path = "PUT", path+"/"+fuzzAPI.ids[res]
		}
		code, out := serve(method, path, body)
		if code >= 500 {
			t.Fatalf("%s %s answered %d %s for body %q", method, path, code, out, body)
		}
		if code >= 400 {
			var e apiError
			if json.Unmarshal(out, &e) != nil || e.Error == "" {
				t.Fatalf("%s %s answered %d without an error message: %q", method, path, code, out)
			}
		}
		if bytes.Contains(out, []byte("fuzz-secret-value")) {
			t.Fatalf("%s %s returned the stored auth's client_secret", method, path)
		}
	})
}
