//go:build integration

package tests

import (
	"os/exec"
	"strings"
	"testing"
)

// The production binaries never link the embedded dev store or the sandbox.
func TestProductionBinariesDoNotLinkDevOnlyPackages(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cmd/worker", "./cmd/starter")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	deps := string(out)
	if !strings.Contains(deps, "orderflow/workflows") {
		t.Fatal("go list output does not look like the worker's dependencies")
	}
	for _, banned := range []string{"orderflow/devstore", "orderflow/sandbox", "github.com/FerretDB/FerretDB", "orderflow/bench"} {
		if strings.Contains(deps, banned) {
			t.Errorf("a production binary links %s", banned)
		}
	}
}
