package codec

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// An order as a workflow input carries it: none of it may appear encrypted.
type order struct {
	Phone string  `json:"phone"`
	Name  string  `json:"name"`
	Total float64 `json:"total"`
}

var asha = order{Phone: "9876512345", Name: "Asha Verma", Total: 1499.5}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func newCodec(t *testing.T, keys map[string][]byte, active string) (*Codec, *[]*DecodeError) {
	t.Helper()
	var failures []*DecodeError
	c, err := New(keys, active, Options{Encrypt: true, OnDecodeError: func(e *DecodeError) { failures = append(failures, e) }})
	if err != nil {
		t.Fatal(err)
	}
	return c, &failures
}

func plainPayload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func encodeOne(t *testing.T, c *Codec, p *commonpb.Payload) *commonpb.Payload {
	t.Helper()
	out, err := c.Encode([]*commonpb.Payload{p})
	if err != nil || len(out) != 1 {
		t.Fatalf("encode: %v, %d payloads", err, len(out))
	}
	return out[0]
}

// leaks reports which of the order's values appear in raw.
func leaks(raw []byte) []string {
	var out []string
	for _, v := range []string{asha.Phone, asha.Name, "1499.5"} {
		if bytes.Contains(raw, []byte(v)) {
			out = append(out, v)
		}
	}
	return out
}

func TestEncryptedPayloadRoundTripsAndHidesTheOrder(t *testing.T) {
	c, _ := newCodec(t, map[string][]byte{"k1": key(1)}, "k1")
	plain := plainPayload(t, asha)
	enc := encodeOne(t, c, plain)

	if got := string(enc.Metadata[converter.MetadataEncoding]); got != Encoding {
		t.Errorf("encoding = %q, want %q", got, Encoding)
	}
	if got := string(enc.Metadata[MetadataKey]); got != "k1" {
		t.Errorf("key id = %q, want k1", got)
	}
	raw, err := proto.Marshal(enc)
	if err != nil {
		t.Fatal(err)
	}
	if l := leaks(raw); len(l) != 0 {
		t.Errorf("the encrypted payload contains %v", l)
	}
	if bytes.Contains(raw, []byte("json/plain")) {
		t.Error("the inner payload's metadata is visible: the whole payload must be encrypted")
	}
	dec, err := c.Decode([]*commonpb.Payload{enc})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(dec[0], plain) {
		t.Errorf("decoded %v, want %v", dec[0], plain)
	}
	// Two encryptions of the same value differ (a fresh nonce each time).
	if again := encodeOne(t, c, plain); bytes.Equal(again.Data, enc.Data) {
		t.Error("the same payload encrypted twice gave the same ciphertext")
	}
}

func TestRotationDecryptsRetiredKeyWhileListedAndEncryptsWithActive(t *testing.T) {
	before, _ := newCodec(t, map[string][]byte{"2025-01": key(1)}, "2025-01")
	old := encodeOne(t, before, plainPayload(t, asha))

	during, _ := newCodec(t, map[string][]byte{"2025-01": key(1), "2025-06": key(2)}, "2025-06")
	dec, err := during.Decode([]*commonpb.Payload{old})
	if err != nil {
		t.Fatalf("a payload under the retired key while it is listed: %v", err)
	}
	var got order
	if err := converter.GetDefaultDataConverter().FromPayload(dec[0], &got); err != nil || got != asha {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	fresh := encodeOne(t, during, plainPayload(t, asha))
	if id := string(fresh.Metadata[MetadataKey]); id != "2025-06" {
		t.Errorf("new payloads use key %q, want the active 2025-06", id)
	}

	after, failures := newCodec(t, map[string][]byte{"2025-06": key(2)}, "2025-06")
	if _, err := after.Decode([]*commonpb.Payload{fresh}); err != nil {
		t.Errorf("a payload under the active key: %v", err)
	}
	_, err = after.Decode([]*commonpb.Payload{old})
	var de *DecodeError
	if !errors.As(err, &de) || de.KeyID != "2025-01" || de.Reason != ReasonUnknownKey || !strings.Contains(err.Error(), `"2025-01"`) {
		t.Fatalf("a payload under a key no longer listed: %v", err)
	}
	if len(*failures) != 1 || (*failures)[0].KeyID != "2025-01" {
		t.Errorf("decode failures reported: %+v", *failures)
	}
}

func TestTamperedPayloadFailsLoudlyNamingTheKey(t *testing.T) {
	c, failures := newCodec(t, map[string][]byte{"k1": key(1), "k2": key(2)}, "k1")
	enc := encodeOne(t, c, plainPayload(t, asha))

	for name, tamper := range map[string]func(p *commonpb.Payload){
		"a flipped ciphertext byte": func(p *commonpb.Payload) { p.Data[len(p.Data)-5] ^= 0x40 },
		"a truncated ciphertext":    func(p *commonpb.Payload) { p.Data = p.Data[:10] },
		"relabelled with another listed key id": func(p *commonpb.Payload) {
			p.Metadata[MetadataKey] = []byte("k2")
		},
	} {
		t.Run(name, func(t *testing.T) {
			p, ok := proto.Clone(enc).(*commonpb.Payload)
			if !ok {
				t.Fatal("proto.Clone changed the payload's type")
			}
			tamper(p)
			out, err := c.Decode([]*commonpb.Payload{p})
			var de *DecodeError
			if !errors.As(err, &de) || de.Reason != ReasonTampered {
				t.Fatalf("got %v, want a DecodeError for a payload that does not authenticate", err)
			}
			wantID := string(p.Metadata[MetadataKey])
			if de.KeyID != wantID || !strings.Contains(err.Error(), `"`+wantID+`"`) {
				t.Errorf("the error does not name key %q: %v", wantID, err)
			}
			if out != nil {
				t.Errorf("Decode returned payloads %v with its error: ciphertext must never pass through", out)
			}
		})
	}
	if len(*failures) != 3 {
		t.Errorf("%d decode failures reported, want 3", len(*failures))
	}
}

func TestUnknownKeyIDFailsNamingIt(t *testing.T) {
	c, _ := newCodec(t, map[string][]byte{"k1": key(1)}, "k1")
	p := &commonpb.Payload{
		Metadata: map[string][]byte{converter.MetadataEncoding: []byte(Encoding), MetadataKey: []byte("vault-7")},
		Data:     bytes.Repeat([]byte{9}, 64),
	}
	_, err := c.Decode([]*commonpb.Payload{p})
	if !IsDecodeError(err) || !strings.Contains(err.Error(), `"vault-7"`) || !strings.Contains(err.Error(), "temporal.codec.keys") {
		t.Fatalf("got %v, want an error naming key vault-7 and temporal.codec.keys", err)
	}
	delete(p.Metadata, MetadataKey)
	if _, err := c.Decode([]*commonpb.Payload{p}); !IsDecodeError(err) {
		t.Fatalf("an encrypted payload without a key id: %v", err)
	}
}

func TestPayloadsWrittenBeforeEncryptionPassThroughDecode(t *testing.T) {
	c, failures := newCodec(t, map[string][]byte{"k1": key(1)}, "k1")
	legacy := []*commonpb.Payload{plainPayload(t, asha), plainPayload(t, "RTO"), plainPayload(t, nil), {}}
	out, err := c.Decode(legacy)
	if err != nil {
		t.Fatal(err)
	}
	for i := range legacy {
		if !proto.Equal(out[i], legacy[i]) {
			t.Errorf("payload %d changed: %v → %v", i, legacy[i], out[i])
		}
	}
	var got order
	if err := DataConverter(c).FromPayload(legacy[0], &got); err != nil || got != asha {
		t.Errorf("through the data converter: %+v, %v", got, err)
	}
	if len(*failures) != 0 {
		t.Errorf("legacy payloads reported as failures: %+v", *failures)
	}
}

func TestEncryptionOffStillDecryptsListedKeys(t *testing.T) {
	on, _ := newCodec(t, map[string][]byte{"k1": key(1)}, "k1")
	enc := encodeOne(t, on, plainPayload(t, asha))
	off, err := New(map[string][]byte{"k1": key(1)}, "k1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	plain := plainPayload(t, asha)
	if got := encodeOne(t, off, plain); !proto.Equal(got, plain) {
		t.Error("with encryption off Encode changed the payload")
	}
	if _, err := off.Decode([]*commonpb.Payload{enc}); err != nil {
		t.Errorf("with encryption off a listed key must still decrypt: %v", err)
	}
}

func TestNewRefusesBadKeys(t *testing.T) {
	if _, err := New(map[string][]byte{"short": make([]byte, 16)}, "short", Options{Encrypt: true}); err == nil ||
		!strings.Contains(err.Error(), `"short"`) {
		t.Errorf("a 16-byte key: %v", err)
	}
	if _, err := New(map[string][]byte{"k1": key(1)}, "k9", Options{Encrypt: true}); err == nil || !strings.Contains(err.Error(), `"k9"`) {
		t.Errorf("an unlisted active key: %v", err)
	}
}

func TestWorkflowCodeGetsAPanicNotAnErrorForAPayloadItCannotDecrypt(t *testing.T) {
	c, _ := newCodec(t, map[string][]byte{"k1": key(1)}, "k1")
	dc := DataConverter(c)
	p := encodeOne(t, c, plainPayload(t, asha))
	p.Data[len(p.Data)-1] ^= 1

	aware, ok := dc.(converter.ContextAware)
	if !ok {
		t.Fatal("the data converter is not context aware")
	}
	var got order
	if err := aware.WithContext(t.Context()).FromPayload(p, &got); !IsDecodeError(err) {
		t.Errorf("outside workflow code: %v, want the DecodeError", err)
	}
	recovered := func() (r any) {
		defer func() { r = recover() }()
		_ = aware.WithWorkflowContext(nil).FromPayloads(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}}, &got)
		return nil
	}()
	if err, ok := recovered.(error); !ok || !IsDecodeError(err) {
		t.Errorf("inside workflow code: recovered %v, want a panic with the DecodeError (the workflow task fails and is retried)", recovered)
	}
	// Any other error stays an error in workflow code.
	if err := aware.WithWorkflowContext(nil).FromPayload(plainPayload(t, "text"), &got); err == nil || IsDecodeError(err) {
		t.Errorf("a type mismatch: %v", err)
	}
}

func TestFailureMessagesAreEncrypted(t *testing.T) {
	c, _ := newCodec(t, map[string][]byte{"k1": key(1)}, "k1")
	dc := DataConverter(c)
	fc := FailureConverter(c, dc)
	f := fc.ErrorToFailure(errors.New("order for " + asha.Name + " (" + asha.Phone + "), total 1499.5, was refused"))
	raw, err := proto.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if l := leaks(raw); len(l) != 0 {
		t.Errorf("the failure carries %v in the clear: %v", l, f)
	}
	if got := fc.FailureToError(f).Error(); !strings.Contains(got, asha.Phone) {
		t.Errorf("through the codec the message is %q", got)
	}
	off, err := New(nil, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f := FailureConverter(off, DataConverter(off)).ErrorToFailure(errors.New("plain")); f.Message != "plain" {
		t.Errorf("with encryption off the message is %q, want it unchanged", f.Message)
	}
}
