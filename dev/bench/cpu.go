package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"
)

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat's CPU times:
// 100 on every architecture Go supports (reading sysconf would need cgo).
const clockTicks = 100

// Process classes a row's CPU time is split into.
const (
	cpuBench     = "bench process (ingress, in-process worker, FerretDB, load clients)"
	cpuDevServer = "Temporal dev server"
	cpuPostgres  = "PostgreSQL (FerretDB's storage)"
	cpuWorkers   = "worker processes"
	cpuReaped    = "bench's exited children (worker processes that ended in the row, go build of cmd/worker)"
	cpuOther     = "other children of the bench"
)

// procStat is the part of one /proc/<pid>/stat line the CPU split needs.
type procStat struct {
	PID, PPID int
	Comm      string
	// Self is utime+stime, Children cutime+cstime (reaped children), in ticks.
	Self, Children int64
}

// parseProcStat reads one /proc/<pid>/stat line. The command name sits in
// parentheses and may itself hold spaces and parentheses, so the fields are
// counted from the last ')'.
func parseProcStat(line string) (procStat, error) {
	open, closing := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || closing < open {
		return procStat{}, fmt.Errorf("proc stat %q: no (comm)", line)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line[:open]))
	if err != nil {
		return procStat{}, fmt.Errorf("proc stat pid: %w", err)
	}
	// Fields after comm: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
	f := strings.Fields(line[closing+1:])
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("proc stat of %d: %d fields after comm", pid, len(f))
	}
	n := make([]int64, 0, 5)
	for _, i := range []int{1, 11, 12, 13, 14} { // ppid utime stime cutime cstime, counted from state
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("proc stat of %d field %d: %w", pid, i+3, err)
		}
		n = append(n, v)
	}
	return procStat{PID: pid, PPID: int(n[0]), Comm: line[open+1 : closing], Self: n[1] + n[2], Children: n[3] + n[4]}, nil
}

// classifyCPU splits the CPU ticks of procs into classes: the bench process
// itself (self), its live children by name, the children it has already
// reaped, and PostgreSQL's whole tree (postmaster pg and its backends, whose
// exited ones its cutime holds). Processes outside both trees are ignored.
func classifyCPU(procs []procStat, self, pg int) map[string]int64 {
	parent := make(map[int]int, len(procs))
	for _, p := range procs {
		parent[p.PID] = p.PPID
	}
	under := func(pid, root int) bool {
		for hops := 0; pid > 1 && hops < 64; hops++ {
			if pid == root {
				return true
			}
			pid = parent[pid]
		}
		return false
	}
	out := map[string]int64{}
	for _, p := range procs {
		switch {
		case p.PID == self:
			out[cpuBench] += p.Self
			out[cpuReaped] += p.Children
		case pg > 0 && under(p.PID, pg):
			out[cpuPostgres] += p.Self + p.Children
		case under(p.PID, self):
			out[childClass(p.Comm)] += p.Self + p.Children
		}
	}
	return out
}

func childClass(comm string) string {
	switch comm {
	case "temporal":
		return cpuDevServer
	case "worker":
		return cpuWorkers
	}
	return cpuOther
}

// readProcs reads every process's stat line (ones that exit meanwhile are skipped).
func readProcs() []procStat {
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	procs := make([]procStat, 0, len(paths))
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if p, err := parseProcStat(strings.TrimSpace(string(b))); err == nil {
			procs = append(procs, p)
		}
	}
	return procs
}

// ProcessCPU is one class of processes' CPU time over a row.
type ProcessCPU struct {
	Process string  `json:"process"`
	Seconds float64 `json:"cpu_seconds"`
}

// cpuDelta is after−before per class, largest first.
func cpuDelta(before, after map[string]int64) []ProcessCPU {
	var out []ProcessCPU
	for class, t := range after {
		if d := t - before[class]; d > 0 {
			out = append(out, ProcessCPU{Process: class, Seconds: float64(d) / clockTicks})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seconds > out[j].Seconds })
	return out
}

// rowProfile records one row's Go CPU profile (of the bench process) into
// dir and every process's CPU time over it.
type rowProfile struct {
	dir, slug string
	pg        int
	before    map[string]int64
	file      *os.File
	started   time.Time
}

func startRowProfile(dir, rowName string, pg int) (*rowProfile, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p := &rowProfile{dir: dir, slug: slug(rowName), pg: pg}
	f, err := os.Create(filepath.Join(dir, p.slug+".pb.gz"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	p.file, p.started = f, time.Now()
	p.before = classifyCPU(readProcs(), os.Getpid(), pg)
	return p, nil
}

// stop ends the profile and writes <slug>-cpu.txt, the CPU seconds by process.
func (p *rowProfile) stop() ([]ProcessCPU, error) {
	after := classifyCPU(readProcs(), os.Getpid(), p.pg)
	wall := time.Since(p.started)
	pprof.StopCPUProfile()
	if err := p.file.Close(); err != nil {
		return nil, err
	}
	cpu := cpuDelta(p.before, after)
	var b strings.Builder
	fmt.Fprintf(&b, "wall %.1f s (%d cores: %.1f CPU-seconds available)\n", wall.Seconds(), runtime.NumCPU(), wall.Seconds()*float64(runtime.NumCPU()))
	for _, c := range cpu {
		fmt.Fprintf(&b, "%8.1f CPU-s  %s\n", c.Seconds, c.Process)
	}
	return cpu, os.WriteFile(filepath.Join(p.dir, p.slug+"-cpu.txt"), []byte(b.String()), 0o644)
}

// slug is a file name for a row: its name up to the colon, lower-case, dashes.
func slug(name string) string {
	name, _, _ = strings.Cut(name, ":")
	return strings.Trim(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '-'
	}, strings.TrimSpace(name)), "-")
}
