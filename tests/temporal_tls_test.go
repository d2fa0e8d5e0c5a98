//go:build integration

package tests

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"orderflow/config"
	"orderflow/dev/bench/rig"
	"orderflow/observability"
	"orderflow/temporalclient"
	"orderflow/temporalclient/tlstest"
	"orderflow/tracking"
	"orderflow/workflows"
)

// The dev server speaks plaintext only: these tests put a TLS-terminating
// proxy in front of it that, like a secured cluster or Temporal Cloud,
// requires a client certificate signed by the cluster's client CA.

// tlsProxy terminates TLS (ALPN h2, a verified client certificate) and
// forwards the plaintext HTTP/2 stream to the dev server.
type tlsProxy struct {
	addr    string
	mu      sync.Mutex
	clients map[string]int // verified client certificate name → connections
	conns   []net.Conn
}

func startTLSProxy(t *testing.T, server tls.Certificate, clientCAs *x509.CertPool, backend string) *tlsProxy {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCAs,
		NextProtos:   []string{"h2"},
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &tlsProxy{addr: ln.Addr().String(), clients: map[string]int{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c.(*tls.Conn)) //nolint:forcetypeassert // tls.Listen accepts *tls.Conn
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			_ = c.Close()
		}
	})
	return p
}

func (p *tlsProxy) serve(c *tls.Conn) {
	p.track(c)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.HandshakeContext(ctx); err != nil {
		_ = c.Close()
		return
	}
	name := c.ConnectionState().PeerCertificates[0].Subject.CommonName
	up, err := net.Dial("tcp", env.temporalAddr)
	if err != nil {
		_ = c.Close()
		return
	}
	p.track(up)
	p.mu.Lock()
	p.clients[name]++
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) { _, _ = io.Copy(dst, src); done <- struct{}{} }
	go pipe(up, c)
	go pipe(c, up)
	<-done
	_ = c.Close()
	_ = up.Close()
}

func (p *tlsProxy) track(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = append(p.conns, c)
}

func (p *tlsProxy) connected(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.clients[name] > 0
}

// temporalPKI is the secured cluster's CAs and orderflow's certificates on disk.
type temporalPKI struct {
	dir                     string
	serverCA, clientCA      *tlstest.CA
	server                  tlstest.Leaf
	caFile                  string
	workerCert, workerKey   string
	starterCert, starterKey string
}

func newTemporalPKI(t *testing.T) temporalPKI {
	t.Helper()
	p := temporalPKI{dir: t.TempDir(), serverCA: tlstest.NewCA(t, "cluster CA"), clientCA: tlstest.NewCA(t, "cluster client CA")}
	p.server = p.serverCA.Server(t, "temporal.orderflow.test")
	p.caFile = filepath.Join(p.dir, "cluster-ca.pem")
	tlstest.WriteFile(t, p.caFile, p.serverCA.PEM())
	p.workerCert, p.workerKey = p.clientCA.Client(t, "orderflow-worker").Write(t, p.dir, "worker")
	p.starterCert, p.starterKey = p.clientCA.Client(t, "orderflow-starter").Write(t, p.dir, "starter")
	return p
}

// tlsEnv configures an orderflow binary for the proxy, the way an operator
// would: the cluster's CA, the name on its certificate, a client key pair.
func tlsEnv(proxy, caFile, certFile, keyFile string) []string {
	out := []string{
		"ORDERFLOW_TEMPORAL_ADDRESS=" + proxy,
		"ORDERFLOW_TEMPORAL_TLS_CA_FILE=" + caFile,
		"ORDERFLOW_TEMPORAL_TLS_SERVER_NAME=temporal.orderflow.test",
	}
	if certFile != "" {
		out = append(out, "ORDERFLOW_TEMPORAL_TLS_CERT_FILE="+certFile, "ORDERFLOW_TEMPORAL_TLS_KEY_FILE="+keyFile)
	}
	return out
}

var starterBuild struct {
	once sync.Once
	bin  string
	err  error
}

// starterBin builds ./cmd/starter once for the package.
func starterBin(t *testing.T) string {
	t.Helper()
	starterBuild.once.Do(func() {
		root, _ := filepath.Abs("..")
		starterBuild.bin = filepath.Join(env.tmp, "starter")
		build := exec.Command("go", "build", "-o", starterBuild.bin, "./cmd/starter")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			starterBuild.err = fmt.Errorf("build starter: %v\n%s", err, out)
		}
	})
	if starterBuild.err != nil {
		t.Fatal(starterBuild.err)
	}
	return starterBuild.bin
}

// process is an orderflow binary running for one test.
type process struct {
	out    *syncBuffer
	exited chan struct{}
	err    error // set before exited closes
}

// runBinary starts bin configured for the stack (rig.ProcessEnv) plus
// extraEnv; its output goes to the stack's logs too, for the secret scan.
func (s *stack) runBinary(t *testing.T, bin string, extraEnv []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(rig.ProcessEnv(s.cfg, apiKey, "info"), extraEnv...)
	p := &process{out: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = io.MultiWriter(p.out, s.logs), io.MultiWriter(p.out, s.logs)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-p.exited })
	return p
}

// refusal waits for the process to exit and returns its output; it fails
// the test if the process keeps running or exits successfully.
func (p *process) refusal(t *testing.T, within time.Duration) string {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(within):
		t.Fatalf("still running after %v; output:\n%s", within, p.out.String())
	}
	var exit *exec.ExitError
	if !errors.As(p.err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("exited with %v, want a failure; output:\n%s", p.err, p.out.String())
	}
	return p.out.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The worker and the starter binaries, configured through the environment,
// connect to a cluster that requires mTLS and run a first RTO end to end: the
// report goes in through the starter's HTTP API, the worker runs StatusUpdate
// and RTOCancel, and the CRM receives its one POST. The starter's schedule
// commands dial the same way.
func TestWorkerAndStarterRunAnRTOOverMTLS(t *testing.T) {
	s := newStack(t)
	pki := newTemporalPKI(t)
	proxy := startTLSProxy(t, pki.server.Pair, pki.clientCA.Pool(), env.temporalAddr)

	worker := s.runBinary(t, env.workerBin, tlsEnv(proxy.addr, pki.caFile, pki.workerCert, pki.workerKey))
	listen := freeAddr(t)
	starterEnv := append(tlsEnv(proxy.addr, pki.caFile, pki.starterCert, pki.starterKey), "ORDERFLOW_HTTP_LISTEN="+listen)
	starterProc := s.runBinary(t, starterBin(t), starterEnv)
	eventually(t, time.Minute, "the worker and the starter to connect through the proxy", func() bool {
		select {
		case <-worker.exited:
			t.Fatalf("the worker exited: %v\n%s", worker.err, worker.out.String())
		case <-starterProc.exited:
			t.Fatalf("the starter exited: %v\n%s", starterProc.err, starterProc.out.String())
		default:
		}
		return proxy.connected("orderflow-worker") && proxy.connected("orderflow-starter")
	})

	s.configureRTOWebhook()
	order := s.insertOrder("9876512345", 2499)
	// The stack's request helpers, pointed at the starter binary's API.
	api := &stack{t: t, api: &httptest.Server{URL: "http://" + listen}, responses: s.responses}
	eventually(t, time.Minute, "the starter's HTTP API", func() bool {
		resp, err := http.Get("http://" + listen + "/healthz")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	updateID := api.report(order, tracking.RTO, base)
	s.waitWorkflow(updateID, nil)
	var res workflows.RTOCancelResult
	s.waitWorkflow(workflows.RTOCancelWorkflowID(order), &res)
	if got := s.crm.Received(); len(got) != 1 || !res.Claimed {
		t.Fatalf("CRM received %d POSTs, RTOCancel %+v; want one POST from a claimed RTO", len(got), res)
	}

	scheduleID := "tracking-sweep-tls-" + s.cfg.Temporal.TaskQueue
	apply := s.runBinary(t, starterBin(t), append(tlsEnv(proxy.addr, pki.caFile, pki.starterCert, pki.starterKey),
		"ORDERFLOW_SWEEP_SCHEDULE_ID="+scheduleID), "schedule", "apply")
	t.Cleanup(func() {
		_ = s.temporal.ScheduleClient().GetHandle(context.Background(), scheduleID).Delete(context.Background())
	})
	select {
	case <-apply.exited:
	case <-time.After(time.Minute):
		t.Fatal("starter schedule apply did not finish within a minute")
	}
	if apply.err != nil || !strings.Contains(apply.out.String(), "schedule "+scheduleID+" created") {
		t.Fatalf("starter schedule apply over mTLS: %v\n%s", apply.err, apply.out.String())
	}
	for _, secret := range [][]byte{readFile(t, pki.workerKey), readFile(t, pki.starterKey)} {
		if strings.Contains(s.logs.String(), strings.TrimSpace(string(secret))) {
			t.Error("a client private key reached the logs")
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Against the same mTLS cluster, the worker and the starter each refuse to
// start, saying why, when their client certificate is missing or signed by
// another CA, or when the cluster's certificate does not verify.
func TestWorkerAndStarterRefuseABadTLSConnection(t *testing.T) {
	s := newStack(t)
	pki := newTemporalPKI(t)
	proxy := startTLSProxy(t, pki.server.Pair, pki.clientCA.Pool(), env.temporalAddr)
	strangerCert, strangerKey := tlstest.NewCA(t, "another CA").Client(t, "orderflow-worker").Write(t, pki.dir, "stranger")
	otherCAFile := filepath.Join(pki.dir, "other-ca.pem")
	tlstest.WriteFile(t, otherCAFile, tlstest.NewCA(t, "not the cluster's CA").PEM())

	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"no client certificate", tlsEnv(proxy.addr, pki.caFile, "", ""),
			"the frontend requires a client certificate: set temporal.tls.cert_file and temporal.tls.key_file"},
		{"client certificate of another CA", tlsEnv(proxy.addr, pki.caFile, strangerCert, strangerKey),
			"the frontend rejected the client certificate"},
		{"server certificate does not verify", tlsEnv(proxy.addr, otherCAFile, pki.workerCert, pki.workerKey),
			"the frontend's certificate does not verify: check temporal.tls.ca_file"},
	}
	for _, tc := range cases {
		for _, bin := range []struct{ name, path string }{{"worker", env.workerBin}, {"starter", starterBin(t)}} {
			t.Run(tc.name+"/"+bin.name, func(t *testing.T) {
				listen := "ORDERFLOW_HTTP_LISTEN=" + freeAddr(t)
				out := s.runBinary(t, bin.path, append(tc.env, listen)).refusal(t, 90*time.Second)
				if !strings.Contains(out, tc.want) {
					t.Fatalf("the refusal does not say %q:\n%s", tc.want, out)
				}
			})
		}
	}
	if proxy.connected("orderflow-worker") {
		t.Error("a refused client got through the proxy")
	}
}

// fakeFrontend is a WorkflowService over TLS that records the authorization
// metadata of every call, as Temporal Cloud would read it.
type fakeFrontend struct {
	workflowservice.UnimplementedWorkflowServiceServer
	mu   sync.Mutex
	auth map[string][]string // method → authorization values in order
}

func (f *fakeFrontend) GetSystemInfo(context.Context, *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	return &workflowservice.GetSystemInfoResponse{Capabilities: &workflowservice.GetSystemInfoResponse_Capabilities{}}, nil
}

func (f *fakeFrontend) record(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	method := info.FullMethod[strings.LastIndex(info.FullMethod, "/")+1:]
	f.mu.Lock()
	f.auth[method] = append(f.auth[method], md.Get("authorization")...)
	f.mu.Unlock()
	return handler(ctx, req)
}

// saw reports whether method was called with this authorization value.
func (f *fakeFrontend) saw(method, value string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.auth[method] {
		if v == value {
			return true
		}
	}
	return false
}

func (f *fakeFrontend) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.auth[method])
}

func startFakeFrontend(t *testing.T, server tls.Certificate) (*fakeFrontend, string) {
	t.Helper()
	f := &fakeFrontend{auth: map[string][]string{}}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{server}})),
		grpc.UnaryInterceptor(f.record))
	workflowservice.RegisterWorkflowServiceServer(srv, f)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return f, ln.Addr().String()
}

// The API key reaches Temporal as "authorization: Bearer <key>" over TLS; a
// key file rewritten by a rotation is used from the next call on, without a
// restart; and the worker binary sends a key set in the environment.
func TestAPIKeyReachesTemporalAndRotatesWithoutRestart(t *testing.T) {
	const keyOne, keyTwo, keyEnv = "tc-apikey-DISTINCT-one-6d1f", "tc-apikey-DISTINCT-two-93ab", "tc-apikey-DISTINCT-env-27c4"
	ca := tlstest.NewCA(t, "cloud CA")
	fake, addr := startFakeFrontend(t, ca.Server(t, "127.0.0.1").Pair)
	dir := t.TempDir()
	caFile, keyFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "api-key")
	tlstest.WriteFile(t, caFile, ca.PEM())
	tlstest.WriteFile(t, keyFile, []byte(keyOne+"\n"))

	t.Setenv("ORDERFLOW_TEMPORAL_ADDRESS", addr)
	t.Setenv("ORDERFLOW_TEMPORAL_API_KEY_FILE", keyFile)
	t.Setenv("ORDERFLOW_TEMPORAL_TLS_CA_FILE", caFile)
	t.Setenv("ORDERFLOW_HTTP_API_KEY", apiKey)
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger, err := observability.NewLogger("debug", logs)
	if err != nil {
		t.Fatal(err)
	}
	c, err := temporalclient.Dial(cfg.Temporal, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !fake.saw("GetSystemInfo", "Bearer "+keyOne) {
		t.Fatalf("GetSystemInfo carried %d other authorization values, want Bearer and the key", fake.count("GetSystemInfo"))
	}

	tlstest.WriteFile(t, keyFile, []byte(keyTwo+"\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.WorkflowService().GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{}); err != nil {
		t.Fatal(err)
	}
	if !fake.saw("GetSystemInfo", "Bearer "+keyTwo) {
		t.Fatal("the rotated key was not sent on the next call")
	}

	s := newStack(t)
	s.runBinary(t, env.workerBin, []string{"ORDERFLOW_TEMPORAL_ADDRESS=" + addr, "ORDERFLOW_TEMPORAL_TLS_CA_FILE=" + caFile,
		"ORDERFLOW_TEMPORAL_API_KEY=" + keyEnv, "ORDERFLOW_TEMPORAL_API_KEY_FILE="})
	eventually(t, time.Minute, "the worker binary's GetSystemInfo with the key from its environment", func() bool {
		return fake.saw("GetSystemInfo", "Bearer "+keyEnv)
	})
	for _, key := range []string{keyOne, keyTwo, keyEnv} {
		if strings.Contains(logs.String()+s.logs.String(), key) {
			t.Errorf("the API key %.12s… reached the logs", key)
		}
	}
}
