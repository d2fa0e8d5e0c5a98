// Package rig starts the real parts that `make bench` and `make chaos` run
// orderflow against: the Temporal dev server (in memory), FerretDB on a
// private PostgreSQL or on SQLite, and helpers to build and run the real
// binaries. Development only: the production binaries never import it.
package rig

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.uber.org/zap"

	"orderflow/observability"
	"orderflow/workflows"
)

// RepoRoot finds the module root (the folder holding go.mod) from the working directory up.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("rig: no go.mod above the working directory")
		}
		dir = parent
	}
}

// DevServer is a Temporal dev server with orderflow's search attributes, in memory.
type DevServer struct {
	*testsuite.DevServer
}

// StartDevServer runs bin/temporal (built by the Makefile) in memory.
func StartDevServer(ctx context.Context, root string) (*DevServer, error) {
	bin := filepath.Join(root, "bin", "temporal")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("rig: %s is missing: run through make, which builds it", bin)
	}
	dev, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  bin,
		LogLevel:      "error",
		Stdout:        io.Discard, // its banner would mix with the table on stdout
		Stderr:        os.Stderr,
		ClientOptions: &client.Options{Namespace: "default", Logger: observability.TemporalLogger(zap.NewNop())},
		ExtraArgs: append(workflows.DevServerFlags(),
			"--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=true"),
	})
	if err != nil {
		return nil, fmt.Errorf("rig: start dev server: %w", err)
	}
	return &DevServer{dev}, nil
}

// Address is the dev server's frontend host:port.
func (d *DevServer) Address() string { return d.FrontendHostPort() }

// BuildBinary builds the main package at pkg (relative to root, e.g.
// "./cmd/worker" or "./dev/cmd/devstore") into dir and returns its path.
func BuildBinary(root, dir, pkg string) (string, error) {
	name := filepath.Base(pkg)
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("rig: build %s: %v\n%s", name, err, msg)
	}
	return out, nil
}

// FreeAddr returns a loopback host:port that was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Machine describes where figures were taken: they mean little without it.
type Machine struct {
	CPUs      int     `json:"cpus"`
	CPUModel  string  `json:"cpu_model"`
	MemoryMB  int     `json:"memory_mb"`
	Load1     float64 `json:"load1_at_start"`
	GoVersion string  `json:"go_version"`
	OS        string  `json:"os"`
}

// DescribeMachine reads /proc for the CPU model, memory and load.
func DescribeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		if _, err := fmt.Sscanf(string(raw), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryMB = kb / 1024
		}
	}
	m.Load1 = Load1()
	return m
}

// Load1 is the one-minute load average (0 when unknown).
func Load1() float64 {
	var l float64
	if raw, err := os.ReadFile("/proc/loadavg"); err == nil {
		_, _ = fmt.Sscanf(string(raw), "%f", &l)
	}
	return l
}
