package config

import (
	"strings"
	"unicode"
)

// WorkerDeployment puts the worker in a Temporal Worker Deployment: every
// worker of the process (the main task queue and each courier queue) polls as
// one version, DeploymentName plus BuildID. Workflows then run on the version
// the deployment routes them to (docs/deploys.md): pinned ones stay on the
// version they started on, auto-upgrade ones move to the current version.
//
// Its keys sit directly under worker: (worker.versioning, worker.deployment_name,
// worker.build_id).
type WorkerDeployment struct {
	// Versioning turns Worker Deployment Versioning on. Off, the workers poll
	// unversioned, as before: nothing has to set a current version first.
	Versioning bool `yaml:"versioning" env:"VERSIONING"`
	// DeploymentName names the deployment every orderflow worker joins.
	DeploymentName string `yaml:"deployment_name" env:"DEPLOYMENT_NAME"`
	// BuildID is this build's version within the deployment. Empty: the build
	// id linked into the worker binary (make, the Dockerfile and the chart set
	// it from the source revision). A test sets it to run two versions at once.
	BuildID string `yaml:"build_id" env:"BUILD_ID"`
}

// DefaultDeploymentName is the deployment orderflow's workers join unless configured.
const DefaultDeploymentName = "orderflow"

// maxBuildIDLength is Temporal's limit on a build id.
const maxBuildIDLength = 255

func (d WorkerDeployment) validate(bad func(key, msg string)) {
	if d.DeploymentName == "" {
		bad("worker.deployment_name", "must not be empty")
	} else if strings.ContainsAny(d.DeploymentName, ".:") || !printable(d.DeploymentName) {
		bad("worker.deployment_name", `must be printable, without spaces, "." or ":" (Temporal reserves them in version names)`)
	}
	if d.BuildID != "" {
		if err := CheckBuildID(d.BuildID); err != "" {
			bad("worker.build_id", err)
		}
	}
}

// CheckBuildID says what is wrong with a build id, or "" when it is usable.
func CheckBuildID(id string) string {
	switch {
	case id == "":
		return "must not be empty"
	case len(id) > maxBuildIDLength:
		return "must be at most 255 characters"
	case !printable(id):
		return "must be printable, without spaces"
	}
	return ""
}

func printable(s string) bool {
	for _, r := range s {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}
