package main

import (
	"strings"
	"testing"
)

// goodManifest is a small, valid render: a Deployment, its Service and a
// ServiceMonitor. Each case below breaks one thing in it.
const goodManifest = `
# Source: orderflow/templates/starter.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      enableServiceLinks: false
      containers:
        - name: starter
          image: orderflow:1
          env:
            - name: ORDERFLOW_CONFIG
              value: /etc/orderflow/config/orderflow.yaml
            - name: ORDERFLOW_HTTP_API_KEY
              valueFrom:
                secretKeyRef: {name: orderflow, key: http-api-key}
          ports:
            - {name: http, containerPort: 8080}
          readinessProbe:
            httpGet: {path: /healthz, port: http}
          resources:
            requests: {cpu: 100m, memory: 64Mi}
            limits: {cpu: 200m, memory: 128Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: api
  labels: {app: api}
spec:
  selector: {app: api}
  ports:
    - {name: http, port: 80, targetPort: http}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  endpoints:
    - port: http
`

func TestValidatorAcceptsAGoodManifest(t *testing.T) {
	if err := Validate([]byte(goodManifest)); err != nil {
		t.Fatal(err)
	}
}

func TestValidatorRejectsBadManifests(t *testing.T) {
	cases := []struct {
		name, old, new, want string
	}{
		{"unknown field in a Deployment", "  selector:\n    matchLabels: {app: api}\n  template:",
			"  replica: 2\n  selector:\n    matchLabels: {app: api}\n  template:", `unknown field "spec.replica"`},
		{"misspelt field in a container", "          ports:\n", "          port:\n", `unknown field "spec.template.spec.containers[0].port"`},
		{"unknown field in a ServiceMonitor", "    - port: http\n", "    - port: http\n      scrapeEvery: 10s\n", `unknown field "spec.endpoints[0].scrapeEvery"`},
		{"wrong type", "containerPort: 8080", "containerPort: eighty", "containerPort"},
		{"unknown kind", "kind: Service\n", "kind: Ingress\n", `kind "Ingress" is not one the chart may render`},
		{"selector that misses the pod labels", "    matchLabels: {app: api}\n  template:", "    matchLabels: {app: web}\n  template:",
			"does not match its pod labels"},
		{"Service selecting no pod", "  selector: {app: api}\n  ports:", "  selector: {app: apl}\n  ports:", "Service api: its selector map[app:apl] matches no rendered pod"},
		{"probe on a missing port", "httpGet: {path: /healthz, port: http}", "httpGet: {path: /healthz, port: metrics}",
			"readinessProbe: port metrics is not a port the container declares"},
		{"Service target port missing", "targetPort: http}", "targetPort: admin}", "port http targets admin"},
		{"ServiceMonitor on a missing port", "    - port: http\n", "    - port: metrics\n", `endpoint port "metrics" is no port of a selected Service`},
		{"unknown ORDERFLOW_ variable", "name: ORDERFLOW_CONFIG\n", "name: ORDERFLOW_CONFIG_FILE\n", "ORDERFLOW_CONFIG_FILE is no configuration key"},
		{"secret as a literal", "              valueFrom:\n                secretKeyRef: {name: orderflow, key: http-api-key}",
			"              value: not-from-a-secret-0123", "ORDERFLOW_HTTP_API_KEY holds a secret"},
		{"service links on", "enableServiceLinks: false", "enableServiceLinks: true", "enableServiceLinks must be false"},
		{"no limits", "            limits: {cpu: 200m, memory: 128Mi}\n", "", "needs CPU and memory requests and limits"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(goodManifest, tc.old) {
				t.Fatalf("the good manifest has no %q", tc.old)
			}
			err := Validate([]byte(strings.Replace(goodManifest, tc.old, tc.new, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}

func TestValidatorRejectsACredentialInTheConfigMap(t *testing.T) {
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  orderflow.yaml: |\n    http:\n      api_key: a-key-in-a-configmap-0123\n"
	if err := Validate([]byte(cm)); err == nil || !strings.Contains(err.Error(), "http.api_key holds a credential") {
		t.Fatalf("want the api key refused, got %v", err)
	}
	cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  orderflow.yaml: |\n    htp:\n      listen: 0.0.0.0:8080\n"
	if err := Validate([]byte(cm)); err == nil || !strings.Contains(err.Error(), "field htp not found") {
		t.Fatalf("want the unknown key refused, got %v", err)
	}
}

func TestValidatorRejectsADashboardReadingAnUnknownMetric(t *testing.T) {
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d, labels: {grafana_dashboard: \"1\"}}\ndata:\n  orderflow.json: |\n" +
		`    {"panels": [{"title": "p", "targets": [{"expr": "rate(orderflow_first_rto_claims_total[5m]) + rate(orderflow_no_such_thing_total[5m])"}]}]}` + "\n"
	err := Validate([]byte(cm))
	if err == nil || !strings.Contains(err.Error(), `panel "p" reads orderflow_no_such_thing_total`) || strings.Contains(err.Error(), "first_rto") {
		t.Fatalf("want only the unknown metric refused, got %v", err)
	}
	ok := strings.Replace(cm, " + rate(orderflow_no_such_thing_total[5m])", " + rate(orderflow_destination_delivery_seconds_bucket[5m])", 1)
	if err := Validate([]byte(ok)); err != nil {
		t.Fatalf("a histogram's _bucket series must count as the documented histogram: %v", err)
	}
}

// A deploy Job must promote the build id the rendered versioned worker runs.
func TestValidatorRejectsADeployJobForAnotherBuild(t *testing.T) {
	worker := `
apiVersion: apps/v1
kind: Deployment
metadata: {name: w}
spec:
  selector:
    matchLabels: {app: w, orderflow.io/build-id: b2}
  template:
    metadata:
      labels: {app: w, orderflow.io/build-id: b2}
    spec:
      enableServiceLinks: false
      containers:
        - name: worker
          image: orderflow:b2
          command: [/usr/local/bin/worker]
          env:
            - {name: ORDERFLOW_WORKER_VERSIONING, value: "true"}
            - {name: ORDERFLOW_WORKER_DEPLOYMENT_NAME, value: orderflow}
            - {name: ORDERFLOW_WORKER_BUILD_ID, value: b2}
          resources:
            requests: {cpu: 100m, memory: 64Mi}
            limits: {cpu: 200m, memory: 128Mi}
---
apiVersion: batch/v1
kind: Job
metadata: {name: promote}
spec:
  template:
    spec:
      enableServiceLinks: false
      restartPolicy: Never
      containers:
        - name: starter-deploy
          image: orderflow:b2
          command: [/usr/local/bin/starter, deploy]
          args: [current, b2]
          env:
            - {name: ORDERFLOW_WORKER_DEPLOYMENT_NAME, value: orderflow}
          resources:
            requests: {cpu: 100m, memory: 64Mi}
            limits: {cpu: 200m, memory: 128Mi}
`
	if err := Validate([]byte(worker)); err != nil {
		t.Fatalf("the good pair: %v", err)
	}
	for _, tc := range []struct{ old, new, want string }{
		{"args: [current, b2]", "args: [current, b1]", `promotes build "b1" of deployment "orderflow", which no rendered versioned worker runs`},
		{"args: [current, b2]", "args: [ramp, b2, \"150\"]", "is not `current|rollback <build id>` or `ramp <build id> <percent>`"},
		{"{app: w, orderflow.io/build-id: b2}\n    spec", "{app: w, orderflow.io/build-id: b1}\n    spec", `its pods' orderflow.io/build-id label "b1" is not its build id "b2"`},
	} {
		if !strings.Contains(worker, tc.old) {
			t.Fatalf("the manifest has no %q", tc.old)
		}
		err := Validate([]byte(strings.Replace(worker, tc.old, tc.new, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s → %s: want an error containing %q, got %v", tc.old, tc.new, tc.want, err)
		}
	}
}
