package config

import (
	"strings"
	"testing"
)

func TestWorkerDeploymentKeysFromFileAndEnvironment(t *testing.T) {
	p := writeFile(t, "http:\n  api_key: "+validKey+"\nworker:\n  versioning: true\n  deployment_name: shop-workers\n")
	t.Setenv("ORDERFLOW_WORKER_BUILD_ID", "v2-abc123")
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := WorkerDeployment{Versioning: true, DeploymentName: "shop-workers", BuildID: "v2-abc123"}
	if cfg.Worker.WorkerDeployment != want {
		t.Errorf("got %+v, want %+v", cfg.Worker.WorkerDeployment, want)
	}
	if def := Default().Worker.WorkerDeployment; def.Versioning || def.DeploymentName != DefaultDeploymentName || def.BuildID != "" {
		t.Errorf("defaults %+v: versioning off, deployment %q, the linked build id", def, DefaultDeploymentName)
	}
}

func TestWorkerDeploymentRejectsNamesTemporalReserves(t *testing.T) {
	for key, d := range map[string]WorkerDeployment{
		"worker.deployment_name": {DeploymentName: "orderflow.v2"},
		"worker.build_id":        {DeploymentName: "orderflow", BuildID: "has space"},
	} {
		cfg := Default()
		cfg.HTTP.APIKey = validKey
		cfg.Worker.WorkerDeployment = d
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%+v: got %v, want an error naming %s", d, err, key)
		}
	}
	cfg := Default()
	cfg.HTTP.APIKey = validKey
	cfg.Worker.DeploymentName = ""
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "worker.deployment_name") {
		t.Errorf("an empty deployment name: %v", err)
	}
}
