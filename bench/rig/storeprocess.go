package rig

import (
	"fmt"
	"io"
	"net"
	"os/exec"
	"syscall"
	"time"
)

// StoreProcess is the dev store (cmd/devstore: FerretDB on SQLite) as its own
// process on a fixed loopback address, so it can crash and come back the way a
// real database does: the files outlive the process, clients reconnect to the
// same URI. (Stopping and restarting FerretDB inside one process on the same
// SQLite folder leaves the new instance hanging on its first query.)
type StoreProcess struct {
	bin, dir, addr string
	out            io.Writer
	cmd            *exec.Cmd
}

// StartStoreProcess runs bin (cmd/devstore, built by BuildBinary) on a free port, its output to logTo.
func StartStoreProcess(bin, dir string, logTo io.Writer) (*StoreProcess, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	s := &StoreProcess{bin: bin, dir: dir, addr: addr, out: logTo}
	return s, s.start()
}

func (s *StoreProcess) start() error {
	s.cmd = exec.Command(s.bin, "-addr", s.addr, "-dir", s.dir)
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

// Stop ends the store.
func (s *StoreProcess) Stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}
