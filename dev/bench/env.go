package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"orderflow/config"
	"orderflow/dev/bench/rig"
	"orderflow/dev/sandbox/crm"
	"orderflow/ingress"
	"orderflow/observability"
	"orderflow/store"
	"orderflow/temporalclient"
	"orderflow/worker"
)

// Secrets of the benchmark's sandbox (not real ones; the bench does not scan for them).
const (
	apiKey          = "bench-api-key-0123456789"
	crmClientID     = "orderflow-bench"
	crmClientSecret = "bench-crm-secret"
)

// Env is what every benchmark shares: one dev server, one store, one client.
type Env struct {
	Temporal  client.Client
	StoreKind string
	cfg       config.Config
	dev       *rig.DevServer
	pg        *rig.Postgres
	store     *rig.Store
	logf      func(string, ...any)
	seq       atomic.Int32
	workerBin string // cmd/worker, built for the rows that run worker processes
	binDir    string
	codec     client.Client // a client with the payload codec on, once a row needs it

	// BaselineStartsPerSec is the bare workflow-start rate, once measured.
	BaselineStartsPerSec float64
}

// StartEnv starts PostgreSQL, FerretDB on it and the dev server.
func StartEnv(ctx context.Context, logf func(string, ...any)) (*Env, error) {
	root, err := rig.RepoRoot()
	if err != nil {
		return nil, err
	}
	e := &Env{logf: logf}
	ok := false
	defer func() {
		if !ok {
			e.Close()
		}
	}()
	logf("starting a private PostgreSQL")
	if e.pg, err = rig.StartPostgres(logf); err != nil {
		return nil, err
	}
	if e.store, err = rig.StartStore("", e.pg.URL); err != nil {
		return nil, err
	}
	e.StoreKind = "FerretDB v1 on PostgreSQL (private instance)"
	logf("starting the Temporal dev server (in memory)")
	if e.dev, err = rig.StartDevServer(ctx, root); err != nil {
		return nil, err
	}
	e.cfg = config.Default()
	e.cfg.Temporal.Address = e.dev.Address()
	e.cfg.Mongo.URI = fmt.Sprintf("%s?maxPoolSize=%d", e.store.URI(), rig.MongoPoolCap)
	e.cfg.HTTP.APIKey = apiKey
	if e.Temporal, err = temporalclient.Dial(e.cfg.Temporal, zap.NewNop(), nil); err != nil {
		return nil, err
	}
	ok = true
	return e, nil
}

// postgresPID is the PostgreSQL postmaster's pid, 0 when there is none (a
// simulated-only run) or it cannot be read.
func (e *Env) postgresPID() int {
	if e == nil || e.pg == nil {
		return 0
	}
	pid, _ := e.pg.PID()
	return pid
}

// Close stops everything StartEnv started.
func (e *Env) Close() {
	if e.Temporal != nil {
		e.Temporal.Close()
	}
	if e.codec != nil {
		e.codec.Close()
	}
	if e.binDir != "" {
		_ = os.RemoveAll(e.binDir)
	}
	if e.dev != nil {
		_ = e.dev.Stop()
	}
	if e.store != nil {
		_ = e.store.Stop()
	}
	if e.pg != nil {
		if err := e.pg.Stop(); err != nil {
			e.logf("stopping PostgreSQL: %v", err)
		}
	}
}

// Counters are the machine-independent costs of one measured phase.
type Counters struct {
	MongoCommands atomic.Int64 // round trips of the worker's Mongo client
	mongoByName   sync.Map     // command name → *atomic.Int64: where the round trips go
	CRMCalls      atomic.Int64 // HTTP calls the CRM received (token + cancel-order)
	IngressCalls  atomic.Int64 // HTTP calls to the starter's API
}

// Stack is one isolated orderflow for one benchmark: its own database, task
// queue, sandbox CRM, API and an in-process worker whose Mongo client is
// monitored.
type Stack struct {
	Cfg      config.Config
	Store    *store.Store // unmonitored: the benchmark's own reads and seeding
	CRM      *crm.CRM
	CRMURL   string
	API      *httptest.Server
	Counters *Counters

	workerStore *store.Store
	worker      *worker.Workers
	processes   *workerProcesses // worker binaries, when the row runs them instead
	crmSrv      *httptest.Server
}

func (c *Counters) countMongo(ev *event.CommandStartedEvent) {
	c.MongoCommands.Add(1)
	n, _ := c.mongoByName.LoadOrStore(ev.CommandName, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
}

// MongoBreakdown lists the worker's round trips by command name ("find 12, update 16").
func (c *Counters) MongoBreakdown() string {
	var parts []string
	c.mongoByName.Range(func(k, v any) bool {
		parts = append(parts, fmt.Sprintf("%s %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// NewStack builds a stack named name whose ingress starts workflows through e.Temporal.
func (e *Env) NewStack(ctx context.Context, name string) (*Stack, error) {
	return e.NewStackWith(ctx, name, e.Temporal)
}

// CodecClient is a second client to the dev server with the payload codec on
// (AES-256-GCM under a key drawn for this run), as temporal.codec.enabled
// configures every orderflow process.
func (e *Env) CodecClient() (client.Client, error) {
	if e.codec != nil {
		return e.codec, nil
	}
	key := make([]byte, config.CodecKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	cfg := e.cfg.Temporal
	cfg.Codec = config.Codec{Enabled: true, ActiveKeyID: "bench", Keys: config.CodecKeys{"bench": base64.StdEncoding.EncodeToString(key)}}
	tc, err := temporalclient.Dial(cfg, zap.NewNop(), nil)
	if err != nil {
		return nil, err
	}
	e.codec = tc
	return tc, nil
}

// NewStackWith builds a stack named name whose ingress starts workflows through tc.
func (e *Env) NewStackWith(ctx context.Context, name string, tc client.Client) (*Stack, error) {
	n := e.seq.Add(1)
	cfg := e.cfg
	cfg.Temporal.TaskQueue = fmt.Sprintf("bench-%s-%d", name, n)
	cfg.Mongo.Database = fmt.Sprintf("bench_%s_%d", name, n)
	s := &Stack{Cfg: cfg, Counters: &Counters{}}
	var err error
	if s.Store, err = store.Connect(ctx, cfg.Mongo.URI, cfg.Mongo.Database, 30*time.Second); err != nil {
		return nil, err
	}
	if err := s.Store.EnsureIndexes(ctx); err != nil {
		return nil, err
	}
	monitor := &event.CommandMonitor{Started: func(_ context.Context, ev *event.CommandStartedEvent) { s.Counters.countMongo(ev) }}
	if s.workerStore, err = store.Connect(ctx, cfg.Mongo.URI, cfg.Mongo.Database, 30*time.Second,
		func(o *options.ClientOptions) { o.SetMonitor(monitor) }); err != nil {
		return nil, err
	}
	s.CRM = crm.New(crmClientID, crmClientSecret, time.Hour)
	s.crmSrv = httptest.NewServer(counting(&s.Counters.CRMCalls, s.CRM.Handler()))
	s.CRMURL = s.crmSrv.URL
	s.API = httptest.NewServer(counting(&s.Counters.IngressCalls, ingress.Router(ingress.Deps{
		Store: s.Store, Temporal: tc, TaskQueue: cfg.Temporal.TaskQueue, APIKey: apiKey,
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes, Logger: zap.NewNop(), Metrics: observability.NewMetrics(),
	})))
	return s, nil
}

// StartWorker runs, in this process, every worker worker.Run runs (the main
// task queue, and a rate-limited worker per courier queue the stack's config
// enables), on the monitored Mongo client.
func (s *Stack) StartWorker(tc client.Client) error {
	ws := worker.New(worker.Deps{Config: s.Cfg, Store: s.workerStore, Temporal: tc})
	if err := ws.Start(); err != nil {
		return err
	}
	s.worker = ws
	return nil
}

// ResetCounters zeroes the counters at the start of a measured phase.
func (s *Stack) ResetCounters() {
	s.Counters.MongoCommands.Store(0)
	s.Counters.mongoByName.Clear()
	s.Counters.CRMCalls.Store(0)
	s.Counters.IngressCalls.Store(0)
}

// Close stops the worker and servers and drops the database.
func (s *Stack) Close() {
	if s.worker != nil {
		s.worker.Stop()
	}
	if s.processes != nil {
		s.processes.stop()
	}
	s.API.Close()
	s.crmSrv.Close()
	_ = s.Store.Database().Drop(context.Background())
	_ = s.workerStore.Close(context.Background())
	_ = s.Store.Close(context.Background())
}

func counting(n *atomic.Int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		next.ServeHTTP(w, r)
	})
}
