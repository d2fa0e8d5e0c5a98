package workflows

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// bannedImportPrefixes are the packages workflow code must not import: a
// workflow touches only workflow types, and every side effect (Mongo, HTTP,
// courier and payment clients) happens in an activity. Typed activity
// references through orderflow/activities are fine.
var bannedImportPrefixes = []string{
	"orderflow/store",
	"orderflow/tracking/couriers/",
	"orderflow/recovery/connector",
	"orderflow/webhook",
	"orderflow/delivery",
	"go.mongodb.org/",
	"net/http",
	"github.com/go-resty/",
}

func TestWorkflowFilesImportNoStoreClientMongoOrHTTPPackage(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked, sawWorkflowSDK := 0, false
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checked++
		for _, spec := range f.Imports {
			path, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				t.Fatalf("%s: import %s: %v", name, spec.Path.Value, err)
			}
			sawWorkflowSDK = sawWorkflowSDK || path == "go.temporal.io/sdk/workflow"
			for _, banned := range bannedImportPrefixes {
				if path == strings.TrimSuffix(banned, "/") || strings.HasPrefix(path, banned) {
					t.Errorf("%s imports %s: workflow code may not touch a store, client, Mongo or HTTP package", name, path)
				}
			}
		}
	}
	// The check must not pass because it read nothing.
	if checked == 0 || !sawWorkflowSDK {
		t.Fatalf("read %d workflow files, none importing go.temporal.io/sdk/workflow: the check looked in the wrong place", checked)
	}
}
