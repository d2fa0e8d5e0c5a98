package rig

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"orderflow/dev/devstore"
)

// Store is FerretDB in this process (for the benchmark, which never restarts it).
type Store struct {
	opts devstore.Options
	srv  *devstore.Server
	uri  string
}

// StartStore runs FerretDB on PostgreSQL when pgURL is set, else on SQLite in dir.
func StartStore(dir, pgURL string) (*Store, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	s := &Store{opts: devstore.Options{Addr: addr, Dir: dir, PostgreSQLURL: pgURL}}
	if err := s.start(); err != nil {
		return nil, err
	}
	s.uri = s.srv.URI()
	return s, nil
}

func (s *Store) start() error {
	srv, err := devstore.Start(s.opts)
	if err != nil {
		return err
	}
	s.srv = srv
	return nil
}

// URI is the mongodb:// URI.
func (s *Store) URI() string { return s.uri }

// Stop shuts FerretDB down.
func (s *Store) Stop() error { return s.srv.Stop() }

// ferretPGPool is FerretDB's PostgreSQL pool size; PostgreSQL allows 300 connections.
const ferretPGPool = 200

// MongoPoolCap is the maxPoolSize each Mongo client of a run should use, so
// that all of them together stay below FerretDB's PostgreSQL pool.
const MongoPoolCap = 32

// Postgres is a private PostgreSQL instance in a temp dir, on loopback only.
type Postgres struct {
	bin  string
	dir  string
	data string
	URL  string
}

// StartPostgres installs Debian's postgresql when its binaries are missing
// (apt-get, as root), then initdb's and starts a private instance in a new
// temp dir owned by the postgres user, listening on a free loopback port with
// its socket in that dir. Stop removes the dir.
func StartPostgres(logf func(string, ...any)) (*Postgres, error) {
	bin, err := postgresBin(logf)
	if err != nil {
		return nil, err
	}
	// Its own temp dir: the postgres user cannot reach into a 0700 one of ours.
	dir, err := os.MkdirTemp("", "orderflow-pg-")
	if err != nil {
		return nil, err
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("rig: postgresql: no postgres user (is the postgresql package installed?): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	data := filepath.Join(dir, "pgdata")
	for _, d := range []string{dir, data} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
		if err := os.Chown(d, uid, gid); err != nil {
			return nil, fmt.Errorf("rig: postgresql: %w (run as root)", err)
		}
	}
	if err := asPostgres(filepath.Join(bin, "initdb"), "-D", data, "--auth=trust", "-U", "postgres", "-E", "UTF8"); err != nil {
		return nil, err
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := strings.Cut(addr, ":")
	opts := fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1 -c max_connections=300", port, dir)
	if err := asPostgres(filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(dir, "postgres.log"), "-w", "start"); err != nil {
		return nil, err
	}
	// FerretDB's own pool (50 by default) deadlocks when every connection is
	// held by an update waiting for another one: give it more room than its
	// clients can use (they cap their Mongo pools below it, see MongoPoolCap).
	pgURL := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: addr, Path: "/postgres",
		RawQuery: fmt.Sprintf("pool_max_conns=%d", ferretPGPool)}
	return &Postgres{bin: bin, dir: dir, data: data, URL: pgURL.String()}, nil
}

// PID is the postmaster's process id, from the first line of its postmaster.pid.
func (p *Postgres) PID() (int, error) {
	b, err := os.ReadFile(filepath.Join(p.data, "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(first))
}

// Stop shuts the instance down (fast mode: the data is thrown away anyway).
func (p *Postgres) Stop() error {
	defer os.RemoveAll(p.dir)
	return asPostgres(filepath.Join(p.bin, "pg_ctl"), "-D", p.data, "-m", "fast", "-w", "stop")
}

func asPostgres(name string, args ...string) error {
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("rig: %s: %v\n%s", filepath.Base(name), err, out)
	}
	return nil
}

// postgresBin finds Debian's PostgreSQL binaries, installing the package when missing.
func postgresBin(logf func(string, ...any)) (string, error) {
	if dir := findPostgresBin(); dir != "" {
		return dir, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("rig: PostgreSQL is not installed and installing it needs root: apt-get install -y postgresql")
	}
	logf("installing Debian's postgresql (apt-get) …")
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "postgresql"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("rig: apt-get %s: %v\n%s", args[0], err, out)
		}
	}
	if dir := findPostgresBin(); dir != "" {
		return dir, nil
	}
	return "", fmt.Errorf("rig: postgresql installed but no initdb under /usr/lib/postgresql/*/bin")
}

func findPostgresBin() string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return ""
	}
	return filepath.Dir(matches[len(matches)-1]) // the newest major version
}
