//go:build integration

package tests

import (
	"os/exec"
	"strings"
	"testing"
)

// devPrefix is the import prefix of every development-only package: the
// benchmarks, the chaos run, the sandboxes, the embedded dev store and their
// commands all live under dev/.
const devPrefix = "orderflow/dev/"

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Fields(string(out))
}

// The production binaries never link development-only code, nor the dev
// store's FerretDB.
func TestProductionBinariesDoNotLinkDevOnlyPackages(t *testing.T) {
	// The ban is on a prefix: make sure it still names real packages, so the
	// check cannot pass because the folder moved.
	devPackages := goList(t, "./dev/...")
	if len(devPackages) == 0 {
		t.Fatal("go list ./dev/... is empty: the development-only folder moved and this check would pass vacuously")
	}
	for _, p := range devPackages {
		if !strings.HasPrefix(p, devPrefix) {
			t.Fatalf("development package %s does not start with %s", p, devPrefix)
		}
	}
	deps := goList(t, "-deps", "./cmd/worker", "./cmd/starter")
	if !contains(deps, "orderflow/workflows") {
		t.Fatal("go list output does not look like the worker's dependencies")
	}
	for _, dep := range deps {
		if strings.HasPrefix(dep, devPrefix) || strings.HasPrefix(dep, "github.com/FerretDB/FerretDB") {
			t.Errorf("a production binary links %s", dep)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
