package temporalclient

import (
	"os"
	"sync"

	"go.uber.org/zap"
)

// reloader holds a value read from files (a client certificate, a CA bundle,
// an API key) and reads it again when one of the files changes: certificates
// and API keys expire and are rotated by rewriting or atomically replacing
// their files (a Kubernetes Secret volume swaps a symlink), and the process
// must pick the new ones up without a restart. A file is checked with one
// stat per use; it is read only when its identity, size or modification time
// changed. A version that fails to load (half written, or a key that does not
// match its certificate) is logged once and the previous value stays in use
// until the files change again.
type reloader[T any] struct {
	what   string
	paths  []string
	load   func() (T, error)
	logger *zap.Logger

	mu     sync.Mutex
	value  T
	loaded []os.FileInfo // the files' stamps when value was read
	failed []os.FileInfo // the stamps of the last version that failed to load
}

// newReloader loads the value once; an error here stops the process at start.
// With no paths the value is read once and never again (an inline value).
func newReloader[T any](what string, paths []string, load func() (T, error), logger *zap.Logger) (*reloader[T], error) {
	r := &reloader[T]{what: what, paths: paths, load: load, logger: logger}
	stamps := r.stat()
	v, err := load()
	if err != nil {
		return nil, err
	}
	r.value, r.loaded = v, stamps
	return r, nil
}

// get returns the current value, re-reading the files first if they changed.
func (r *reloader[T]) get() T {
	if len(r.paths) == 0 {
		return r.value
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	stamps := r.stat()
	if sameStamps(stamps, r.loaded) || sameStamps(stamps, r.failed) {
		return r.value
	}
	v, err := r.load()
	if !sameStamps(stamps, r.stat()) {
		return r.value // written while being read: read again at the next use
	}
	if err != nil {
		r.failed = stamps
		r.logger.Warn("temporal: keeping the previous "+r.what+": its new version does not load",
			zap.Strings("files", r.paths), zap.Error(err))
		return r.value
	}
	r.value, r.loaded, r.failed = v, stamps, nil
	r.logger.Info("temporal: reloaded the "+r.what, zap.Strings("files", r.paths))
	return v
}

// stat returns one stamp per path; nil for a file that cannot be stat'ed.
func (r *reloader[T]) stat() []os.FileInfo {
	out := make([]os.FileInfo, len(r.paths))
	for i, p := range r.paths {
		if fi, err := os.Stat(p); err == nil {
			out[i] = fi
		}
	}
	return out
}

func sameStamps(a, b []os.FileInfo) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		switch {
		case a[i] == nil || b[i] == nil:
			if a[i] != b[i] {
				return false
			}
		case !os.SameFile(a[i], b[i]) || !a[i].ModTime().Equal(b[i].ModTime()) || a[i].Size() != b[i].Size():
			return false
		}
	}
	return true
}
