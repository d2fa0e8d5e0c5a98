// Command validate checks manifests rendered from orderflow's Helm chart
// offline: every object decodes strictly (an unknown or misspelt field is an
// error) into its Kubernetes API type, or the prometheus-operator
// monitoring/v1 type for a ServiceMonitor or PrometheusRule; selectors match
// the pod labels they mean; probes and Service target ports name ports the
// containers declare; every ORDERFLOW_* variable is a configuration key and
// every secret one comes from a Secret; the ConfigMap is a configuration
// orderflow accepts, with no credential in it.
//
//	helm template orderflow deploy/helm/orderflow > out.yaml && go run . out.yaml
//
// `make helm-check` runs the tests of this module, which render the chart
// with each values set of deploy/helm/orderflow/ci and validate the result.
// It is its own Go module so the Kubernetes and Helm dependencies stay out of
// orderflow's.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	yamlv3 "gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"orderflow/config"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: validate rendered.yaml…")
		os.Exit(2)
	}
	failed := false
	for _, path := range os.Args[1:] {
		raw, err := os.ReadFile(path)
		if err == nil {
			err = Validate(raw)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s:\n%v\n", path, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// newObject maps an apiVersion and kind to the Go type it must decode into.
var newObject = map[string]func() any{
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"batch/v1/Job":                            func() any { return &batchv1.Job{} },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return &monitoringv1.PrometheusRule{} },
}

// Objects are the decoded objects of one render, by kind.
type Objects struct {
	ConfigMaps      []*corev1.ConfigMap
	Services        []*corev1.Service
	Deployments     []*appsv1.Deployment
	Jobs            []*batchv1.Job
	HPAs            []*autoscalingv2.HorizontalPodAutoscaler
	PDBs            []*policyv1.PodDisruptionBudget
	ServiceMonitors []*monitoringv1.ServiceMonitor
	PrometheusRules []*monitoringv1.PrometheusRule
	count           int
}

// Validate decodes every document of a multi-document render strictly, then
// checks how the objects fit together. It reports every problem found.
func Validate(rendered []byte) error {
	objs, err := Decode(rendered)
	if err != nil {
		return err
	}
	return objs.Check()
}

// Decode strictly decodes each document into its API type.
func Decode(rendered []byte) (*Objects, error) {
	objs := &Objects{}
	var errs []error
	for i, doc := range splitDocuments(rendered) {
		if err := objs.add(doc); err != nil {
			errs = append(errs, fmt.Errorf("document %d (%s): %w", i+1, describe(doc), err))
		}
	}
	if objs.count == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no object rendered"))
	}
	return objs, errors.Join(errs...)
}

func splitDocuments(rendered []byte) [][]byte {
	var docs [][]byte
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(rendered), -1) {
		if hasContent(doc) {
			docs = append(docs, []byte(doc))
		}
	}
	return docs
}

// hasContent reports whether a document has anything besides comments and blank lines.
func hasContent(doc string) bool {
	for _, line := range strings.Split(doc, "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			return true
		}
	}
	return false
}

func describe(doc []byte) string {
	var tm struct {
		metav1.TypeMeta `json:",inline"`
		Metadata        struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	_ = yaml.Unmarshal(doc, &tm)
	return tm.Kind + " " + tm.Metadata.Name
}

func (o *Objects) add(doc []byte) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	newObj, ok := newObject[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return fmt.Errorf("apiVersion %q kind %q is not one the chart may render", tm.APIVersion, tm.Kind)
	}
	obj := newObj()
	if err := decodeStrict(doc, obj); err != nil {
		return err
	}
	o.count++
	switch v := obj.(type) {
	case *corev1.ConfigMap:
		o.ConfigMaps = append(o.ConfigMaps, v)
	case *corev1.Service:
		o.Services = append(o.Services, v)
	case *appsv1.Deployment:
		o.Deployments = append(o.Deployments, v)
	case *batchv1.Job:
		o.Jobs = append(o.Jobs, v)
	case *autoscalingv2.HorizontalPodAutoscaler:
		o.HPAs = append(o.HPAs, v)
	case *policyv1.PodDisruptionBudget:
		o.PDBs = append(o.PDBs, v)
	case *monitoringv1.ServiceMonitor:
		o.ServiceMonitors = append(o.ServiceMonitors, v)
	case *monitoringv1.PrometheusRule:
		o.PrometheusRules = append(o.PrometheusRules, v)
	}
	return nil
}

// decodeStrict decodes a YAML document as the API server's strict field
// validation does: a duplicate key, an unknown field or a value of the wrong
// type is an error naming the field's path (spec.template.spec.containers[0].port).
func decodeStrict(doc []byte, obj any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(js, obj)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// Check runs the cross-object checks.
func (o *Objects) Check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, d := range o.Deployments {
		o.checkDeployment(bad, d)
	}
	for _, j := range o.Jobs {
		checkPod(bad, "Job "+j.Name, j.Spec.Template.Spec)
	}
	for _, s := range o.Services {
		o.checkService(bad, s)
	}
	for _, h := range o.HPAs {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || o.deployment(ref.Name) == nil {
			bad("HorizontalPodAutoscaler %s: scales %s %q, which the chart does not render", h.Name, ref.Kind, ref.Name)
		}
	}
	for _, p := range o.PDBs {
		if len(o.podsSelectedBy(bad, "PodDisruptionBudget "+p.Name, p.Spec.Selector)) == 0 {
			bad("PodDisruptionBudget %s: its selector matches no rendered pod", p.Name)
		}
	}
	for _, sm := range o.ServiceMonitors {
		o.checkServiceMonitor(bad, sm)
	}
	for _, r := range o.PrometheusRules {
		checkRules(bad, r)
	}
	for _, cm := range o.ConfigMaps {
		checkConfigMap(bad, cm)
	}
	o.checkVersioning(bad)
	return errors.Join(errs...)
}

// BuildIDLabel is the pod label naming a worker's build id.
const BuildIDLabel = "orderflow.io/build-id"

// WorkerVersion is one rendered worker Deployment's Worker Deployment
// Versioning settings, from its container's environment.
type WorkerVersion struct {
	Deployment                    *appsv1.Deployment
	Versioning                    bool
	DeploymentName, BuildID, Pods string // Pods: the pods' build-id label
}

// WorkerVersions are the versioning settings of every Deployment running the worker.
func (o *Objects) WorkerVersions() []WorkerVersion {
	var out []WorkerVersion
	for _, d := range o.Deployments {
		for _, c := range d.Spec.Template.Spec.Containers {
			if !slices.Equal(c.Command, []string{"/usr/local/bin/worker"}) {
				continue
			}
			env := map[string]string{}
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
			out = append(out, WorkerVersion{Deployment: d, Versioning: env["ORDERFLOW_WORKER_VERSIONING"] == "true",
				DeploymentName: env["ORDERFLOW_WORKER_DEPLOYMENT_NAME"], BuildID: env["ORDERFLOW_WORKER_BUILD_ID"],
				Pods: d.Spec.Template.Labels[BuildIDLabel]})
		}
	}
	return out
}

// checkVersioning wants every worker to carry a build id its pods are
// labelled with, a versioned worker to run in its own Deployment per build,
// and every `starter deploy` Job to promote the rendered worker's version of
// the same Worker Deployment.
func (o *Objects) checkVersioning(bad func(string, ...any)) {
	versions := o.WorkerVersions()
	for _, v := range versions {
		what := "Deployment " + v.Deployment.Name
		if msg := config.CheckBuildID(v.BuildID); msg != "" {
			bad("%s: ORDERFLOW_WORKER_BUILD_ID %s", what, msg)
		}
		if v.Pods != v.BuildID {
			bad("%s: its pods' %s label %q is not its build id %q", what, BuildIDLabel, v.Pods, v.BuildID)
		}
		if v.Versioning && v.DeploymentName == "" {
			bad("%s: versioning on without ORDERFLOW_WORKER_DEPLOYMENT_NAME", what)
		}
		if v.Versioning && v.Deployment.Spec.Selector != nil && v.Deployment.Spec.Selector.MatchLabels[BuildIDLabel] != v.BuildID {
			bad("%s: a versioned worker's selector must name its build id (%s), so the next build gets its own Deployment", what, BuildIDLabel)
		}
	}
	for _, j := range o.Jobs {
		for _, c := range j.Spec.Template.Spec.Containers {
			if slices.Equal(c.Command, []string{"/usr/local/bin/starter", "deploy"}) {
				checkDeployJob(bad, "Job "+j.Name, c, versions)
			}
		}
	}
}

// checkDeployJob wants `starter deploy current|rollback <build>` or `ramp
// <build> <percent>` naming a versioned worker's build id and Worker Deployment.
func checkDeployJob(bad func(string, ...any), what string, c corev1.Container, versions []WorkerVersion) {
	args := c.Args
	valid := (len(args) == 2 && (args[0] == "current" || args[0] == "rollback")) || (len(args) == 3 && args[0] == "ramp" && isPercent(args[2]))
	if !valid {
		bad("%s: starter deploy %q is not `current|rollback <build id>` or `ramp <build id> <percent>`", what, args)
		return
	}
	name := ""
	for _, e := range c.Env {
		if e.Name == "ORDERFLOW_WORKER_DEPLOYMENT_NAME" {
			name = e.Value
		}
	}
	for _, v := range versions {
		if v.Versioning && v.BuildID == args[1] && v.DeploymentName == name {
			return
		}
	}
	bad("%s: promotes build %q of deployment %q, which no rendered versioned worker runs", what, args[1], name)
}

func isPercent(s string) bool {
	p, err := strconv.ParseFloat(s, 64)
	return err == nil && p >= 0 && p <= 100
}

func (o *Objects) deployment(name string) *appsv1.Deployment {
	for _, d := range o.Deployments {
		if d.Name == name {
			return d
		}
	}
	return nil
}

func (o *Objects) checkDeployment(bad func(string, ...any), d *appsv1.Deployment) {
	what := "Deployment " + d.Name
	if d.Spec.Selector == nil {
		bad("%s: no selector", what)
	} else if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil {
		bad("%s: selector: %v", what, err)
	} else if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		bad("%s: selector %s does not match its pod labels %v", what, sel, d.Spec.Template.Labels)
	}
	checkPod(bad, what, d.Spec.Template.Spec)
}

// podsSelectedBy returns the Deployments whose pod labels sel matches.
func (o *Objects) podsSelectedBy(bad func(string, ...any), what string, sel *metav1.LabelSelector) []*appsv1.Deployment {
	if sel == nil {
		bad("%s: no selector", what)
		return nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		bad("%s: selector: %v", what, err)
		return nil
	}
	var out []*appsv1.Deployment
	for _, d := range o.Deployments {
		if s.Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, d)
		}
	}
	return out
}

func (o *Objects) checkService(bad func(string, ...any), s *corev1.Service) {
	what := "Service " + s.Name
	pods := o.podsSelectedBy(bad, what, &metav1.LabelSelector{MatchLabels: s.Spec.Selector})
	if len(s.Spec.Selector) == 0 || len(pods) == 0 {
		bad("%s: its selector %v matches no rendered pod", what, s.Spec.Selector)
		return
	}
	for _, p := range s.Spec.Ports {
		for _, d := range pods {
			if !podHasPort(d.Spec.Template.Spec, p.TargetPort) {
				bad("%s: port %s targets %s, which no container of %s declares", what, p.Name, p.TargetPort.String(), d.Name)
			}
		}
	}
}

func (o *Objects) checkServiceMonitor(bad func(string, ...any), sm *monitoringv1.ServiceMonitor) {
	what := "ServiceMonitor " + sm.Name
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		bad("%s: selector: %v", what, err)
		return
	}
	var selected []*corev1.Service
	for _, s := range o.Services {
		if sel.Matches(labels.Set(s.Labels)) {
			selected = append(selected, s)
		}
	}
	if len(selected) == 0 {
		bad("%s: its selector %s matches no rendered Service", what, sel)
	}
	for _, ep := range sm.Spec.Endpoints {
		found := false
		for _, s := range selected {
			for _, p := range s.Spec.Ports {
				found = found || (ep.Port != "" && p.Name == ep.Port)
			}
		}
		if !found {
			bad("%s: endpoint port %q is no port of a selected Service", what, ep.Port)
		}
	}
}

func podHasPort(spec corev1.PodSpec, port intstr.IntOrString) bool {
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
				return true
			}
		}
	}
	return false
}

// secretVariable matches the ORDERFLOW_* variables that carry a secret (a
// URI may hold a password); the _FILE ones name a mounted file instead.
var secretVariable = regexp.MustCompile(`_(KEY|KEYS|SECRET|SECRETS|TOKEN|PASSWORD|URI)$`)

func checkPod(bad func(string, ...any), what string, spec corev1.PodSpec) {
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
		bad("%s: enableServiceLinks must be false (Kubernetes would add *_SERVICE_* variables to every container)", what)
	}
	volumes := map[string]bool{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = true
		if v.Secret != nil && v.Secret.SecretName == "" {
			bad("%s: volume %s names no Secret", what, v.Name)
		}
	}
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		cwhat := what + " container " + c.Name
		checkProbe(bad, cwhat+" readinessProbe", c.ReadinessProbe, c.Ports)
		checkProbe(bad, cwhat+" livenessProbe", c.LivenessProbe, c.Ports)
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() ||
			c.Resources.Limits.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
			bad("%s: needs CPU and memory requests and limits", cwhat)
		}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				bad("%s: mounts volume %s, which the pod does not have", cwhat, m.Name)
			}
			if m.SubPath != "" {
				bad("%s: mounts %s with subPath, so a rotated Secret would never reach it", cwhat, m.Name)
			}
		}
		checkEnv(bad, cwhat, c.Env)
	}
}

func checkProbe(bad func(string, ...any), what string, p *corev1.Probe, ports []corev1.ContainerPort) {
	if p == nil {
		return
	}
	if p.HTTPGet == nil {
		bad("%s: not an HTTP probe", what)
		return
	}
	if p.HTTPGet.Path != "/healthz" {
		bad("%s: probes %s, want /healthz", what, p.HTTPGet.Path)
	}
	if !podHasPort(corev1.PodSpec{Containers: []corev1.Container{{Ports: ports}}}, p.HTTPGet.Port) {
		bad("%s: port %s is not a port the container declares", what, p.HTTPGet.Port.String())
	}
}

func checkEnv(bad func(string, ...any), what string, env []corev1.EnvVar) {
	known := config.EnvVariables()
	for _, e := range env {
		if !strings.HasPrefix(e.Name, config.EnvPrefix) {
			continue
		}
		if _, ok := config.NonKeyVariables[e.Name]; !ok && !slices.Contains(known, e.Name) {
			bad("%s: %s is no configuration key (the process would refuse to start)", what, e.Name)
		}
		if secretVariable.MatchString(e.Name) && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
			bad("%s: %s holds a secret: it must come from a Secret (secretKeyRef), not a literal value", what, e.Name)
		}
		if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil && (ref.SecretKeyRef.Name == "" || ref.SecretKeyRef.Key == "") {
			bad("%s: %s names no Secret or key", what, e.Name)
		}
	}
}

var (
	metricName      = regexp.MustCompile(`\borderflow_[a-z0-9_]+`)
	histogramSeries = regexp.MustCompile(`_(bucket|sum|count)$`)
)

// undocumented lists the orderflow metrics expr reads that docs/operations.md
// does not name (a histogram's _bucket, _sum and _count series count as the histogram).
func undocumented(documented []byte, expr string) []string {
	var out []string
	for _, m := range metricName.FindAllString(expr, -1) {
		m = histogramSeries.ReplaceAllString(m, "")
		if !bytes.Contains(documented, []byte("`"+m+"`")) {
			out = append(out, m)
		}
	}
	return out
}

// checkRules wants every alert named, with an expression over orderflow's
// documented metrics (docs/operations.md lists them).
func checkRules(bad func(string, ...any), r *monitoringv1.PrometheusRule) {
	documented, err := os.ReadFile(operationsDoc)
	if err != nil {
		bad("PrometheusRule %s: %v", r.Name, err)
		return
	}
	n := 0
	for _, g := range r.Spec.Groups {
		for _, rule := range g.Rules {
			n++
			expr := rule.Expr.String()
			if rule.Alert == "" || strings.TrimSpace(expr) == "" {
				bad("PrometheusRule %s: a rule of group %s has no alert name or expression", r.Name, g.Name)
			}
			for _, m := range undocumented(documented, expr) {
				bad("PrometheusRule %s: alert %s reads %s, which orderflow does not export", r.Name, rule.Alert, m)
			}
		}
	}
	if n == 0 {
		bad("PrometheusRule %s: no rule", r.Name)
	}
}

// operationsDoc is the metrics table, relative to this module's directory.
var operationsDoc = "../../../docs/operations.md"

// checkConfigMap wants the configuration file to be one orderflow accepts:
// every key known, no credential, not in development mode.
func checkConfigMap(bad func(string, ...any), cm *corev1.ConfigMap) {
	if cm.Labels["grafana_dashboard"] == "1" {
		checkDashboard(bad, cm)
		return
	}
	raw, ok := cm.Data["orderflow.yaml"]
	if !ok {
		bad("ConfigMap %s: no orderflow.yaml", cm.Name)
		return
	}
	cfg, err := decodeConfig([]byte(raw))
	if err != nil {
		bad("ConfigMap %s: %v", cm.Name, err)
		return
	}
	if cfg.DevMode {
		bad("ConfigMap %s: dev_mode is on", cm.Name)
	}
	for _, s := range config.SecretValues(cfg) {
		bad("ConfigMap %s: %s holds a credential: give it through secrets.env", cm.Name, s.Key)
	}
}

// checkDashboard wants the Grafana dashboard's ConfigMap to hold one JSON
// dashboard with panels whose queries read only documented orderflow metrics.
func checkDashboard(bad func(string, ...any), cm *corev1.ConfigMap) {
	documented, err := os.ReadFile(operationsDoc)
	if err != nil {
		bad("ConfigMap %s: %v", cm.Name, err)
		return
	}
	if len(cm.Data) != 1 {
		bad("ConfigMap %s: want one dashboard, got %d entries", cm.Name, len(cm.Data))
	}
	for name, raw := range cm.Data {
		var dash struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal([]byte(raw), &dash); err != nil {
			bad("ConfigMap %s: %s: %v", cm.Name, name, err)
			continue
		}
		if len(dash.Panels) == 0 {
			bad("ConfigMap %s: %s has no panel", cm.Name, name)
		}
		for _, p := range dash.Panels {
			for _, t := range p.Targets {
				for _, m := range undocumented(documented, t.Expr) {
					bad("ConfigMap %s: panel %q reads %s, which orderflow does not export", cm.Name, p.Title, m)
				}
			}
		}
	}
}

// decodeConfig decodes a configuration file as the processes do: an unknown key is an error.
func decodeConfig(raw []byte) (config.Config, error) {
	cfg := config.Default()
	dec := yamlv3.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return config.Config{}, fmt.Errorf("orderflow.yaml: %w", err)
	}
	return cfg, nil
}
