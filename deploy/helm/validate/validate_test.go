package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"orderflow/config"
	"orderflow/workflows"
)

const chartDir = "../orderflow"

// helmBinary is the helm that `make helm-check` builds into ./bin (HELM names another).
func helmBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("HELM")
	if bin == "" {
		bin, _ = filepath.Abs("../../../bin/helm")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("no helm at %s: `make helm-check` builds it (%v)", bin, err)
	}
	return bin
}

func helm(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return out
}

// render lints the chart with the values file (none: the defaults) and renders it.
func render(t *testing.T, values string) *Objects {
	t.Helper()
	var extra []string
	if values != "" {
		extra = []string{"--values", values}
	}
	helm(t, append([]string{"lint", "--strict", chartDir}, extra...)...)
	out := helm(t, append([]string{"template", "orderflow", chartDir, "--namespace", "shop"}, extra...)...)
	for key, value := range devSecrets(t) {
		if bytes.Contains(out, []byte(value)) {
			t.Errorf("the render holds the development value of %s", key)
		}
	}
	objs, err := Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := objs.Check(); err != nil {
		t.Fatal(err)
	}
	return objs
}

func devSecrets(t *testing.T) map[string]string {
	t.Helper()
	cfg, err := config.Load("../../../config/dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range config.SecretValues(cfg) {
		out[s.Key] = s.Value
	}
	if len(out) == 0 {
		t.Fatal("config/dev.yaml holds no credential to look for")
	}
	return out
}

func TestDefaultValues(t *testing.T) {
	objs := render(t, "")
	if len(objs.Deployments) != 2 || len(objs.Services) != 2 || len(objs.HPAs) != 1 || len(objs.PDBs) != 2 ||
		len(objs.Jobs) != 1 || len(objs.ConfigMaps) != 1 {
		t.Fatalf("unexpected objects: %d Deployments, %d Services, %d HPAs, %d PDBs, %d Jobs, %d ConfigMaps",
			len(objs.Deployments), len(objs.Services), len(objs.HPAs), len(objs.PDBs), len(objs.Jobs), len(objs.ConfigMaps))
	}
	if len(objs.ServiceMonitors)+len(objs.PrometheusRules) != 0 {
		t.Error("prometheus-operator objects rendered by default")
	}
	for _, d := range objs.Deployments {
		env := envOf(d.Spec.Template.Spec.Containers[0])
		for _, name := range []string{"ORDERFLOW_HTTP_API_KEY", "ORDERFLOW_MONGO_URI"} {
			if ref := env[name].ValueFrom; ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != "orderflow" || ref.SecretKeyRef.Optional != nil {
				t.Errorf("%s: %s is not required from Secret orderflow: %+v", d.Name, name, env[name])
			}
		}
	}
	checkUnversionedWorker(t, objs, "0.1.0")
	job := objs.Jobs[0].Spec.Template.Spec
	if len(job.InitContainers) != 1 || !slices.Equal(job.Containers[0].Command, []string{"/usr/local/bin/starter", "schedule", "apply"}) {
		t.Errorf("the setup Job does not register search attributes and apply the Schedule: %+v", job)
	}
	checkSearchAttributes(t, job.InitContainers[0].Args)
}

// The chart's configuration is the deployment file's: the same keys and
// values but for what a pod sets itself (listen addresses) or takes from a
// Secret (mongo.uri) and the cluster's address.
func TestChartConfigMatchesTheDeploymentFile(t *testing.T) {
	objs := render(t, "")
	chart, err := decodeConfig([]byte(objs.ConfigMaps[0].Data["orderflow.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../../config/orderflow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file, err := decodeConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*config.Config{&chart, &file} {
		c.HTTP.Listen, c.Worker.MetricsListen, c.Temporal.Address, c.Mongo.URI = "", "", "", ""
	}
	if !reflect.DeepEqual(chart, file) {
		t.Errorf("the chart's config differs from config/orderflow.yaml:\nchart %+v\nfile  %+v", chart, file)
	}
}

func TestMonitoringValues(t *testing.T) {
	objs := render(t, chartDir+"/ci/monitoring-values.yaml")
	if len(objs.ServiceMonitors) != 1 || len(objs.PrometheusRules) != 1 {
		t.Fatalf("%d ServiceMonitors, %d PrometheusRules", len(objs.ServiceMonitors), len(objs.PrometheusRules))
	}
	var dashboards int
	for _, cm := range objs.ConfigMaps {
		if cm.Labels["grafana_dashboard"] == "1" && strings.Contains(cm.Data["orderflow.json"], "temporal_worker_task_slots_available") {
			dashboards++
		}
	}
	if dashboards != 1 {
		t.Errorf("%d Grafana dashboard ConfigMaps with the dashboard, want 1", dashboards)
	}
	if len(objs.HPAs) != 0 || *workerDeployment(t, objs).Spec.Replicas != 3 {
		t.Error("autoscaling off must render the worker's replicas and no HPA")
	}
}

func TestTemporalCloudAPIKeyValues(t *testing.T) {
	objs := render(t, chartDir+"/ci/cloud-api-key-values.yaml")
	w := workerDeployment(t, objs)
	env := envOf(w.Spec.Template.Spec.Containers[0])
	if got := env["ORDERFLOW_TEMPORAL_API_KEY_FILE"].Value; got != "/etc/orderflow/temporal/api-key/api-key" {
		t.Errorf("ORDERFLOW_TEMPORAL_API_KEY_FILE = %q", got)
	}
	if !hasSecretVolume(w.Spec.Template.Spec, "orderflow-temporal-api-key") {
		t.Error("the API key's Secret is not mounted")
	}
	if n := len(objs.Jobs[0].Spec.Template.Spec.InitContainers); n != 0 {
		t.Error("on Temporal Cloud the setup Job must not create search attributes (tcld does)")
	}
	cfg, err := decodeConfig([]byte(objs.ConfigMaps[0].Data["orderflow.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Couriers.Delhivery.Enabled() || cfg.Couriers.DelhiveryB2B.Enabled() || cfg.Temporal.Namespace != "orderflow-prod.a1b2c" {
		t.Errorf("config values not carried: %+v", cfg)
	}
}

func TestMTLSValues(t *testing.T) {
	objs := render(t, chartDir+"/ci/mtls-values.yaml")
	for _, spec := range []corev1.PodSpec{workerDeployment(t, objs).Spec.Template.Spec, objs.Jobs[0].Spec.Template.Spec} {
		env := envOf(spec.Containers[0])
		want := map[string]string{
			"ORDERFLOW_TEMPORAL_TLS_CA_FILE":     "/etc/orderflow/temporal/ca/ca.crt",
			"ORDERFLOW_TEMPORAL_TLS_CERT_FILE":   "/etc/orderflow/temporal/client/tls.crt",
			"ORDERFLOW_TEMPORAL_TLS_KEY_FILE":    "/etc/orderflow/temporal/client/tls.key",
			"ORDERFLOW_TEMPORAL_TLS_SERVER_NAME": "temporal-frontend",
		}
		for name, value := range want {
			if env[name].Value != value {
				t.Errorf("%s = %q, want %q", name, env[name].Value, value)
			}
		}
		if env["ORDERFLOW_HTTP_API_KEY"].ValueFrom.SecretKeyRef.Name != "orderflow-credentials" {
			t.Error("secrets.existingSecret not used")
		}
	}
	args := strings.Join(objs.Jobs[0].Spec.Template.Spec.InitContainers[0].Args, " ")
	for _, flag := range []string{"--tls-cert-path", "--tls-key-path", "--tls-ca-path", "--tls-server-name"} {
		if !strings.Contains(args, flag) {
			t.Errorf("the search-attribute step does not pass %s", flag)
		}
	}
}

// checkSearchAttributes wants the setup Job to register exactly orderflow's
// search attributes (workflows.SearchAttributes) with their types.
func checkSearchAttributes(t *testing.T, args []string) {
	t.Helper()
	m := regexp.MustCompile(`for attr in ([^;]+);`).FindStringSubmatch(strings.Join(args, " "))
	if m == nil {
		t.Fatalf("no search-attribute loop in %q", args)
	}
	var want []string
	for name, typ := range workflows.SearchAttributes {
		want = append(want, name+"="+typ.String()) // Keyword, Int, KeywordList: the CLI's spelling
	}
	got := strings.Fields(m[1])
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the setup Job registers %v, want %v", got, want)
	}
}

func workerDeployment(t *testing.T, objs *Objects) *appsv1.Deployment {
	t.Helper()
	for _, d := range objs.Deployments {
		if d.Spec.Template.Labels["app.kubernetes.io/component"] == "worker" {
			return d
		}
	}
	t.Fatal("no worker Deployment")
	return nil
}

func envOf(c corev1.Container) map[string]corev1.EnvVar {
	out := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		out[e.Name] = e
	}
	return out
}

func hasSecretVolume(spec corev1.PodSpec, secret string) bool {
	for _, v := range spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == secret {
			return true
		}
	}
	return false
}

// Development mode is for config/dev.yaml on a development machine: the chart
// refuses to render it.
func TestChartRefusesDevMode(t *testing.T) {
	cmd := exec.Command(helmBinary(t), "template", "orderflow", chartDir, "--set", "config.dev_mode=true")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "config.dev_mode: development mode is for config/dev.yaml") {
		t.Fatalf("want the render refused naming config.dev_mode, got %v:\n%s", err, out)
	}
}

// checkUnversionedWorker wants versioning off: one worker Deployment under its
// usual name, carrying the build id (for its logs) and no promotion Job.
func checkUnversionedWorker(t *testing.T, objs *Objects, buildID string) {
	t.Helper()
	vs := objs.WorkerVersions()
	if len(vs) != 1 || vs[0].Versioning || vs[0].BuildID != buildID || vs[0].DeploymentName != "orderflow" ||
		vs[0].Deployment.Name != "orderflow-worker" {
		t.Errorf("want one unversioned worker orderflow-worker with build id %s, got %+v", buildID, vs)
	}
	for _, j := range objs.Jobs {
		if j.Spec.Template.Spec.Containers[0].Command[1] == "deploy" {
			t.Errorf("Job %s promotes a version with versioning off", j.Name)
		}
	}
}

// With versioning on each build runs in its own worker Deployment, kept by
// Helm after an upgrade, and the hook Jobs ramp the new build after an
// install or upgrade and make the release's build current after a rollback.
func TestVersioningValues(t *testing.T) {
	objs := render(t, chartDir+"/ci/versioning-values.yaml")
	const build = "v1.4.0-12-g1a2b3c4"
	vs := objs.WorkerVersions()
	if len(vs) != 1 || !vs[0].Versioning || vs[0].BuildID != build || vs[0].DeploymentName != "orderflow-prod" {
		t.Fatalf("want one versioned worker of orderflow-prod build %s, got %+v", build, vs)
	}
	w := vs[0].Deployment
	if w.Name != "orderflow-worker-v1-4-0-12-g1a2b3c4" || w.Annotations["helm.sh/resource-policy"] != "keep" {
		t.Errorf("the worker Deployment %s is not per build and kept: %v", w.Name, w.Annotations)
	}
	if objs.HPAs[0].Spec.ScaleTargetRef.Name != w.Name {
		t.Errorf("the HPA scales %s, not the new build's workers", objs.HPAs[0].Spec.ScaleTargetRef.Name)
	}
	want := map[string]struct {
		hook string
		args []string
	}{
		"orderflow-deploy-version":  {"post-install,post-upgrade", []string{"ramp", build, "25"}},
		"orderflow-deploy-rollback": {"post-rollback", []string{"rollback", build}},
	}
	for _, j := range objs.Jobs {
		c := j.Spec.Template.Spec.Containers[0]
		if c.Command[1] != "deploy" {
			continue
		}
		w, ok := want[j.Name]
		if !ok || j.Annotations["helm.sh/hook"] != w.hook || !slices.Equal(c.Args, w.args) {
			t.Errorf("Job %s (%s): starter deploy %v", j.Name, j.Annotations["helm.sh/hook"], c.Args)
		}
		delete(want, j.Name)
	}
	if len(want) != 0 {
		t.Errorf("Jobs not rendered: %v", want)
	}
}

// Without versioning.buildId the build id is the image tag, then appVersion;
// promote none renders no Job; a build id no label can hold is refused.
func TestVersioningBuildIDDefaultsAndRefusals(t *testing.T) {
	out := helm(t, "template", "orderflow", chartDir, "--set", "versioning.enabled=true,versioning.promote=none,image.tag=2.0.1")
	objs, err := Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := objs.Check(); err != nil {
		t.Fatal(err)
	}
	if vs := objs.WorkerVersions(); len(vs) != 1 || vs[0].BuildID != "2.0.1" || vs[0].Deployment.Name != "orderflow-worker-2-0-1" {
		t.Errorf("want build id 2.0.1 from the image tag, got %+v", vs)
	}
	if len(objs.Jobs) != 1 {
		t.Errorf("promote none: want only the setup Job, got %d Jobs", len(objs.Jobs))
	}
	for set, want := range map[string]string{
		"versioning.buildId=not/a/label":                       "versioning.buildId",
		"config.worker.build_id=b2":                            "config.worker.build_id: set versioning.* instead",
		"versioning.enabled=true,versioning.promote=sometimes": "versioning.promote",
	} {
		cmd := exec.Command(helmBinary(t), "template", "orderflow", chartDir, "--set", set)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("--set %s: want the render refused naming %q, got %v:\n%s", set, want, err, out)
		}
	}
}
