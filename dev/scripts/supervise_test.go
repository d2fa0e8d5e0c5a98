// Package scripts holds the test of `make run`'s process supervision
// (supervise.sh, which run.sh sources, and supervisor.sh).
package scripts

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// childEnv makes the test binary act as a supervised process: like the real
// binaries it handles SIGINT and SIGTERM itself (Go re-enables a SIGINT the
// supervisor's shell ignores), so a Ctrl-C reaches it as it reaches them.
const childEnv = "SUPERVISE_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
		fmt.Printf("pid %d\n", os.Getpid())
		<-stop
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// syncBuffer is the driver's output, written by the process and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var (
	pidLine   = regexp.MustCompile(`(?m)^pid (\d+)$`)
	jobNotice = regexp.MustCompile(`\d+ Killed\s`) // bash's own notice of a job killed by a signal
)

// pids are the child pids a log has recorded, oldest first.
func pids(t *testing.T, log string) []int {
	t.Helper()
	raw, err := os.ReadFile(log)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, m := range pidLine.FindAllStringSubmatch(string(raw), -1) {
		var pid int
		if _, err := fmt.Sscan(m[1], &pid); err != nil {
			t.Fatal(err)
		}
		out = append(out, pid)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// A supervised process killed with SIGKILL comes back and the supervisor
// says so; its log keeps every earlier line; a Ctrl-C (SIGINT to the whole
// process group, as a terminal sends it) stops everything with no restart and
// no alarm, and leaves no process behind.
func TestSupervisorRestartsAKilledProcessAndStopsQuietlyOnCtrlC(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	supervise, err := filepath.Abs("supervise.sh")
	if err != nil {
		t.Fatal(err)
	}
	logs := t.TempDir()
	alphaLog, betaLog := filepath.Join(logs, "alpha.log"), filepath.Join(logs, "beta.log")
	if err := os.WriteFile(alphaLog, []byte("a line of an earlier run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The driver is run.sh's skeleton: source, trap, supervise, wait.
	driver := fmt.Sprintf(`set -euo pipefail
export RUN_LOG_DIR=%q RUN_STOP_FLAG=%q
source %q
trap 'echo stopping; stop_supervised; echo stopped.; exit 0' INT TERM
supervise alpha %q
supervise beta %q
wait || true
echo "the supervisors stopped unexpectedly" >&2
exit 1
`, logs, filepath.Join(logs, "stopping"), supervise, self, self)
	cmd := exec.Command("bash", "-c", driver)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its own group, as under a terminal
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		for _, log := range []string{alphaLog, betaLog} {
			for _, pid := range pids(t, log) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if t.Failed() {
			t.Logf("driver output:\n%s", out.String())
		}
	})

	waitFor(t, "both processes to start", func() bool { return len(pids(t, alphaLog)) == 1 && len(pids(t, betaLog)) == 1 })
	first := pids(t, alphaLog)[0]
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "alpha to be restarted", func() bool { return len(pids(t, alphaLog)) == 2 })
	if !strings.Contains(out.String(), "alpha exited (status 137); restarting it") || jobNotice.MatchString(out.String()) {
		t.Errorf("the restart was not announced (alone): %q", out.String())
	}
	raw, err := os.ReadFile(alphaLog)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), "a line of an earlier run\n") || strings.Count(string(raw), "starting alpha") != 2 {
		t.Errorf("alpha's log was not appended to across runs and restarts:\n%s", raw)
	}

	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("Ctrl-C: the driver exited with %v, want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Ctrl-C did not stop the driver within 30s")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "alpha exited") || lines[1] != "stopping" || lines[2] != "stopped." {
		t.Errorf("output %q: want the one announced restart, then a clean stop and nothing else", lines)
	}
	for _, log := range []string{alphaLog, betaLog} {
		for _, pid := range pids(t, log) {
			if alive(pid) {
				t.Errorf("process %d (%s) outlived the stop", pid, filepath.Base(log))
			}
		}
	}
}
