// Package codec is orderflow's payload codec: AES-256-GCM encryption of every
// payload orderflow hands Temporal, under one of several listed keys so keys
// can be rotated, the data converter and failure converter that apply it in
// every client and worker, and the codec server (the remote codec protocol
// the Temporal UI and CLI call to show decrypted payloads to operators).
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// The metadata of an encrypted payload: its encoding, and the id of the key
// that encrypted it. The names are those of Temporal's encryption samples, so
// the Temporal tools recognise an encrypted payload.
const (
	Encoding    = "binary/encrypted"
	MetadataKey = "encryption-key-id"
)

// Codec encrypts payloads with the active key and decrypts them with the key
// their metadata names. It is a converter.PayloadCodec.
type Codec struct {
	keys    map[string]cipher.AEAD
	active  string
	encrypt bool
	failed  func(*DecodeError)
}

// Options tune a Codec.
type Options struct {
	// Encrypt encrypts new payloads; without it Encode passes payloads
	// through and the keys only decrypt (turning encryption off safely).
	Encrypt bool
	// OnDecodeError is told of every payload that cannot be decrypted, to log
	// it and count it; the error names the key id, never a key.
	OnDecodeError func(*DecodeError)
}

// New builds a codec from keys (id → 32-byte AES-256 key) and the id of the
// key new payloads are encrypted with.
func New(keys map[string][]byte, activeKeyID string, opts Options) (*Codec, error) {
	c := &Codec{keys: map[string]cipher.AEAD{}, active: activeKeyID, encrypt: opts.Encrypt, failed: opts.OnDecodeError}
	for id, key := range keys {
		if len(key) != 32 {
			return nil, fmt.Errorf("codec: key %q must be 32 bytes (AES-256), it is %d", id, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", id, err)
		}
		c.keys[id] = aead
	}
	if _, ok := c.keys[activeKeyID]; !ok && opts.Encrypt {
		return nil, fmt.Errorf("codec: the active key %q is not listed", activeKeyID)
	}
	if c.failed == nil {
		c.failed = func(*DecodeError) {}
	}
	return c, nil
}

// Encrypts reports whether Encode encrypts.
func (c *Codec) Encrypts() bool { return c.encrypt }

// Encode encrypts each payload, whole (metadata and data), with the active
// key. The key id is also the ciphertext's additional data, so a payload
// relabelled with another key id does not decrypt.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	if !c.encrypt {
		return payloads, nil
	}
	aead := c.keys[c.active]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: marshal a payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(Encoding),
				MetadataKey:                []byte(c.active),
			},
			Data: aead.Seal(nonce, nonce, plain, []byte(c.active)),
		}
	}
	return out, nil
}

// Decode decrypts each encrypted payload with the key its metadata names.
// A payload without the encrypted encoding (written before encryption was
// turned on, or a search attribute) passes through unchanged. A payload that
// cannot be decrypted is an error naming its key id: ciphertext never passes
// through as if it were the value.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		plain, err := c.decrypt(p)
		if err != nil {
			c.failed(err)
			return nil, err
		}
		out[i] = plain
	}
	return out, nil
}

func (c *Codec) decrypt(p *commonpb.Payload) (*commonpb.Payload, *DecodeError) {
	id := string(p.GetMetadata()[MetadataKey])
	if id == "" {
		return nil, &DecodeError{Reason: ReasonNoKeyID}
	}
	aead, ok := c.keys[id]
	if !ok {
		return nil, &DecodeError{KeyID: id, Reason: ReasonUnknownKey}
	}
	data := p.GetData()
	if len(data) < aead.NonceSize()+aead.Overhead() {
		return nil, &DecodeError{KeyID: id, Reason: ReasonTampered}
	}
	nonce, sealed := data[:aead.NonceSize()], data[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, sealed, []byte(id))
	if err != nil {
		return nil, &DecodeError{KeyID: id, Reason: ReasonTampered}
	}
	out := &commonpb.Payload{}
	if err := proto.Unmarshal(plain, out); err != nil {
		return nil, &DecodeError{KeyID: id, Reason: ReasonTampered}
	}
	return out, nil
}

// Why a payload could not be decrypted (also the metric's reason label).
const (
	ReasonUnknownKey = "unknown_key"
	ReasonTampered   = "does_not_authenticate"
	ReasonNoKeyID    = "no_key_id"
)

// DecodeError is a payload that cannot be decrypted: its key is not listed,
// or the ciphertext does not authenticate under it (altered, or another key
// under the same id).
type DecodeError struct {
	KeyID  string
	Reason string
}

func (e *DecodeError) Error() string {
	switch e.Reason {
	case ReasonUnknownKey:
		return fmt.Sprintf("codec: a payload is encrypted under key %q, which is not listed in temporal.codec.keys: list it again to decrypt it", e.KeyID)
	case ReasonNoKeyID:
		return "codec: an encrypted payload names no key id (" + MetadataKey + ")"
	default:
		return fmt.Sprintf("codec: a payload encrypted under key %q does not authenticate: it was altered, or key %q is not the key that encrypted it", e.KeyID, e.KeyID)
	}
}

// IsDecodeError reports whether err is, or wraps, a DecodeError.
func IsDecodeError(err error) bool {
	var de *DecodeError
	return errors.As(err, &de)
}
