package codec

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const (
	token    = "codec-token-DISTINCT-51c0"
	uiOrigin = "https://temporal-ui.example.com"
)

func codecServer(t *testing.T, tok string) (*httptest.Server, *Codec) {
	t.Helper()
	c, _ := newCodec(t, map[string][]byte{"k1": key(1)}, "k1")
	srv := httptest.NewServer(NewServer(c, ServerOptions{Namespace: "orders", Token: tok, AllowedOrigins: []string{uiOrigin}}))
	t.Cleanup(srv.Close)
	return srv, c
}

func payloadsJSON(t *testing.T, ps ...*commonpb.Payload) []byte {
	t.Helper()
	raw, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func post(t *testing.T, url string, headers map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, out
}

func TestCodecServerRequiresTheBearerToken(t *testing.T) {
	srv, _ := codecServer(t, token)
	body := payloadsJSON(t, plainPayload(t, asha))
	for name, auth := range map[string]string{"no token": "", "a wrong token": "Bearer codec-token-DISTINCT-51c1",
		"a prefix of the token": "Bearer codec-token", "the token without Bearer": token} {
		headers := map[string]string{}
		if auth != "" {
			headers["Authorization"] = auth
		}
		resp, out := post(t, srv.URL+"/codec/decode", headers, body)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %s, want 401 with WWW-Authenticate", name, resp.StatusCode, out)
		}
	}
	resp, out := post(t, srv.URL+"/codec/decode", map[string]string{"Authorization": "Bearer " + token, "X-Namespace": "orders"}, body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("with the token (as the CLI's --codec-auth sends it): %d %s", resp.StatusCode, out)
	}
}

func TestCodecServerDecodesWhatItEncodes(t *testing.T) {
	srv, c := codecServer(t, token)
	auth := map[string]string{"Authorization": "bearer " + token, "X-Namespace": "orders"}
	plain := plainPayload(t, asha)

	resp, out := post(t, srv.URL+"/codec/encode", auth, payloadsJSON(t, plain))
	var encoded commonpb.Payloads
	if resp.StatusCode != http.StatusOK || protojson.Unmarshal(out, &encoded) != nil || len(encoded.Payloads) != 1 {
		t.Fatalf("encode: %d %s", resp.StatusCode, out)
	}
	if l := leaks(out); len(l) != 0 || string(encoded.Payloads[0].Metadata[MetadataKey]) != "k1" {
		t.Fatalf("encode answered %s", out)
	}
	// What a worker wrote decodes through the server to the plaintext.
	fromWorker := encodeOne(t, c, plain)
	resp, out = post(t, srv.URL+"/codec/decode", auth, payloadsJSON(t, encoded.Payloads[0], fromWorker, plain))
	var decoded commonpb.Payloads
	if resp.StatusCode != http.StatusOK || protojson.Unmarshal(out, &decoded) != nil || len(decoded.Payloads) != 3 {
		t.Fatalf("decode: %d %s", resp.StatusCode, out)
	}
	for i, p := range decoded.Payloads {
		if !proto.Equal(p, plain) {
			t.Errorf("payload %d decoded to %v", i, p)
		}
	}
	var got order
	if err := converter.GetDefaultDataConverter().FromPayload(decoded.Payloads[0], &got); err != nil || got != asha {
		t.Errorf("decoded %+v, %v", got, err)
	}

	fromWorker.Data[0] ^= 1
	resp, out = post(t, srv.URL+"/codec/decode", auth, payloadsJSON(t, fromWorker))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(out), `"k1"`) {
		t.Errorf("a tampered payload: %d %s, want 400 naming key k1", resp.StatusCode, out)
	}
	resp, _ = post(t, srv.URL+"/codec/decode", map[string]string{"Authorization": "Bearer " + token, "X-Namespace": "billing"}, payloadsJSON(t, plain))
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("another namespace: %d, want 403", resp.StatusCode)
	}
	resp, _ = post(t, srv.URL+"/codec/decode", auth, []byte("not json"))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a body that is not Payloads: %d, want 400", resp.StatusCode)
	}
}

func preflight(t *testing.T, url, origin string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodOptions, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace,authorization")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestCodecServerCORSAllowsOnlyTheUIOrigin(t *testing.T) {
	srv, _ := codecServer(t, token)
	resp := preflight(t, srv.URL+"/codec/decode", uiOrigin)
	h := resp.Header
	if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != uiOrigin ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "X-Namespace") ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight from the UI: %d %v", resp.StatusCode, h)
	}
	resp = preflight(t, srv.URL+"/codec/decode", "https://evil.example.com")
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d %v", resp.StatusCode, resp.Header)
	}
	body := payloadsJSON(t, plainPayload(t, asha))
	resp, _ = post(t, srv.URL+"/codec/decode", map[string]string{"Origin": "https://evil.example.com", "Authorization": "Bearer " + token}, body)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a POST from another origin, even with the token: %d, want 403", resp.StatusCode)
	}
	resp, _ = post(t, srv.URL+"/codec/decode", map[string]string{"Origin": uiOrigin, "Authorization": "Bearer " + token}, body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != uiOrigin {
		t.Errorf("a POST from the UI: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestCodecServerWithoutATokenStillChecksTheOrigin(t *testing.T) {
	srv, _ := codecServer(t, "")
	body := payloadsJSON(t, plainPayload(t, asha))
	if resp, out := post(t, srv.URL+"/codec/decode", nil, body); resp.StatusCode != http.StatusOK {
		t.Errorf("the CLI on loopback without a token: %d %s", resp.StatusCode, out)
	}
	if resp, _ := post(t, srv.URL+"/codec/decode", map[string]string{"Origin": "http://127.0.0.1:9999"}, body); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a page of another origin: %d, want 403", resp.StatusCode)
	}
}
