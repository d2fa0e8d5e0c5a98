package ingress

import (
	_ "embed"
	"net/http"
)

// openAPI documents every route of Router; a test keeps the two in step.
//
//go:embed openapi.yaml
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openAPI)
}
