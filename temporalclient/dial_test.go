package temporalclient

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"orderflow/config"
	"orderflow/temporalclient/tlstest"
)

// tlsServer accepts TLS connections on loopback, requiring and verifying a
// client certificate from clientCA, and records each client's name.
type tlsServer struct {
	addr string
	mu   sync.Mutex
	cert tls.Certificate
	seen []string
}

func newTLSServer(t *testing.T, serverCert tls.Certificate, clientCA *tlstest.CA) *tlsServer {
	t.Helper()
	s := &tlsServer{cert: serverCert}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs:  clientCA.Pool(),
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			return &s.cert, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	s.addr = ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc, ok := c.(*tls.Conn)
			if ok && tc.Handshake() == nil {
				s.mu.Lock()
				s.seen = append(s.seen, tc.ConnectionState().PeerCertificates[0].Subject.CommonName)
				s.mu.Unlock()
			}
			_ = c.Close()
		}
	}()
	return s
}

func (s *tlsServer) setCert(c tls.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cert = c
}

func (s *tlsServer) lastClient() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) == 0 {
		return ""
	}
	return s.seen[len(s.seen)-1]
}

// handshake connects with the TLS settings Dial would use and reports the
// handshake's result as the client sees it.
func handshake(t *testing.T, tc *tls.Config, addr string) error {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, tc)
	if err != nil {
		return err
	}
	defer conn.Close()
	// In TLS 1.3 the server judges the client certificate after the client's
	// handshake is done: a read sees its verdict.
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	if err != nil && !errors.Is(err, net.ErrClosed) && err.Error() != "EOF" {
		return err
	}
	return nil
}

func TestClientCertificateAndCAAreReloadedWhenTheirFilesChange(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA := tlstest.NewCA(t, "server CA"), tlstest.NewCA(t, "client CA")
	srv := newTLSServer(t, serverCA.Server(t, "127.0.0.1").Pair, clientCA)
	cfg := config.Temporal{Address: srv.addr}
	cfg.TLS.CertFile, cfg.TLS.KeyFile = clientCA.Client(t, "first").Write(t, dir, "client")
	cfg.TLS.CAFile = filepath.Join(dir, "ca.pem")
	tlstest.WriteFile(t, cfg.TLS.CAFile, serverCA.PEM())
	tc, err := tlsConfig(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}

	if err := handshake(t, tc, srv.addr); err != nil || srv.lastClient() != "first" {
		t.Fatalf("first handshake: %v, server saw %q", err, srv.lastClient())
	}
	clientCA.Client(t, "second").Write(t, dir, "client")
	if err := handshake(t, tc, srv.addr); err != nil || srv.lastClient() != "second" {
		t.Fatalf("after the certificate was rotated: %v, server saw %q", err, srv.lastClient())
	}

	newServerCA := tlstest.NewCA(t, "new server CA")
	srv.setCert(newServerCA.Server(t, "127.0.0.1").Pair)
	if err := handshake(t, tc, srv.addr); err == nil || !strings.Contains(err.Error(), "temporal.tls.ca_file") {
		t.Fatalf("a server certificate from an unlisted CA was accepted or the error does not say why: %v", err)
	}
	tlstest.WriteFile(t, cfg.TLS.CAFile, append(serverCA.PEM(), newServerCA.PEM()...))
	if err := handshake(t, tc, srv.addr); err != nil {
		t.Fatalf("after the CA bundle was rotated: %v", err)
	}
}

func TestServerNameIsVerified(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "CA")
	srv := newTLSServer(t, ca.Server(t, "temporal.internal").Pair, ca)
	cfg := config.Temporal{Address: srv.addr}
	cfg.TLS.CertFile, cfg.TLS.KeyFile = ca.Client(t, "w").Write(t, dir, "client")
	cfg.TLS.CAFile = filepath.Join(dir, "ca.pem")
	tlstest.WriteFile(t, cfg.TLS.CAFile, ca.PEM())
	tc, err := tlsConfig(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(t, tc, srv.addr); err == nil {
		t.Fatal("a certificate for temporal.internal was accepted for 127.0.0.1")
	}
	cfg.TLS.ServerName = "temporal.internal"
	if tc, err = tlsConfig(cfg, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	if err := handshake(t, tc, srv.addr); err != nil {
		t.Fatalf("with temporal.tls.server_name: %v", err)
	}
}

func TestInlineCAUsesCryptoTLSVerification(t *testing.T) {
	ca := tlstest.NewCA(t, "CA")
	srv := newTLSServer(t, ca.Server(t, "127.0.0.1").Pair, ca)
	client := ca.Client(t, "inline")
	cfg := config.Temporal{Address: srv.addr}
	cfg.TLS.CA, cfg.TLS.Cert, cfg.TLS.Key = string(ca.PEM()), string(client.CertPEM), string(client.KeyPEM)
	tc, err := tlsConfig(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if tc.InsecureSkipVerify || tc.RootCAs == nil {
		t.Fatal("an inline CA must be crypto/tls's RootCAs")
	}
	if err := handshake(t, tc, srv.addr); err != nil || srv.lastClient() != "inline" {
		t.Fatalf("handshake: %v, server saw %q", err, srv.lastClient())
	}
}

func TestAPIKeyReloaderKeepsTheLastGoodKeyAndLogsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api-key")
	tlstest.WriteFile(t, path, []byte("key-one\n"))
	core, logs := observer.New(zap.InfoLevel)
	cfg := config.Temporal{APIKeyFile: path}
	r, err := newReloader("API key", []string{path}, cfg.ReadAPIKey, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.get(); got != "key-one" {
		t.Fatalf("key = %q", got)
	}
	tlstest.WriteFile(t, path, []byte("key-two"))
	if got := r.get(); got != "key-two" {
		t.Fatalf("after rotation key = %q", got)
	}
	tlstest.WriteFile(t, path, []byte(""))
	for range 3 {
		if got := r.get(); got != "key-two" {
			t.Fatalf("an empty key file replaced the key: %q", got)
		}
	}
	if n := logs.FilterMessage("temporal: keeping the previous API key: its new version does not load").Len(); n != 1 {
		t.Fatalf("the failed reload was logged %d times, want once", n)
	}
	for _, e := range logs.All() {
		if line := fmt.Sprint(e.Message, e.ContextMap()); strings.Contains(line, "key-") {
			t.Fatalf("a log line quotes the key: %s", line)
		}
	}
	tlstest.WriteFile(t, path, []byte("key-three"))
	if got := r.get(); got != "key-three" {
		t.Fatalf("after a good rewrite key = %q", got)
	}
}

func TestOptionsRefuseBadCredentials(t *testing.T) {
	cfg := config.Temporal{Address: "127.0.0.1:7233", APIKeyFile: filepath.Join(t.TempDir(), "missing")}
	if _, err := Options(cfg, zap.NewNop()); err == nil || !strings.Contains(err.Error(), "temporal.api_key_file") {
		t.Fatalf("want an error naming temporal.api_key_file, got %v", err)
	}
}
