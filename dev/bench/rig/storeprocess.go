package rig

import (
	"fmt"
	"io"
	"net"
	"os/exec"
	"syscall"
	"time"
)

// StoreProcess is the dev store (cmd/devstore: FerretDB, the MongoDB wire
// protocol, on a private PostgreSQL) as its own process on a fixed loopback
// address, so it can crash and come back the way a real database does: the
// data outlives the process, clients reconnect to the same URI. (Restarting
// FerretDB inside one process hung on its first query; and its SQLite
// backend wedged under a chaos run's hundreds of concurrent writers.)
type StoreProcess struct {
	bin, pgURL, addr string
	out              io.Writer
	cmd              *exec.Cmd
}

// StartStoreProcess runs bin (dev/cmd/devstore, built by BuildBinary) on a free
// port over the PostgreSQL at pgURL, its output to logTo.
func StartStoreProcess(bin, pgURL string, logTo io.Writer) (*StoreProcess, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	s := &StoreProcess{bin: bin, pgURL: pgURL, addr: addr, out: logTo}
	return s, s.start()
}

func (s *StoreProcess) start() error {
	s.cmd = exec.Command(s.bin, "-addr", s.addr, "-postgresql-url", s.pgURL)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rig: devstore did not listen on %s: %w", s.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URI is the mongodb:// URI, the same across restarts.
func (s *StoreProcess) URI() string { return "mongodb://" + s.addr + "/" }

// Crash kills the store with SIGKILL, keeps it down for downtime, and starts it again.
func (s *StoreProcess) Crash(downtime time.Duration) error {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	time.Sleep(downtime) // an outage of a chosen length is the point here, not a wait for work
	return s.start()
}

// DumpGoroutines asks the store (a Go program) to print every goroutine's
// stack to its output and exit, for a post-mortem of a hung run.
func (s *StoreProcess) DumpGoroutines() {
	_ = s.cmd.Process.Signal(syscall.SIGQUIT)
	_ = s.cmd.Wait()
}

// Stop ends the store.
func (s *StoreProcess) Stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}
