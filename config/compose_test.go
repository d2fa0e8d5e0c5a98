package config

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/caarlos0/env/v11"
	"gopkg.in/yaml.v3"
)

// docker-compose.yml cannot run on machines without a Docker engine, so this
// keeps it consistent with the code: every ORDERFLOW_* variable it sets is a
// real configuration key, and the worker and starter listen where it publishes.
func TestComposeFileMatchesConfig(t *testing.T) {
	raw, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
			Ports       []string          `yaml:"ports"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("docker-compose.yml does not parse: %v", err)
	}
	params, err := env.GetFieldParamsWithOptions(&Config{}, env.Options{Prefix: EnvPrefix})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, p := range params {
		keys = append(keys, p.Key)
	}
	keys = append(keys, "ORDERFLOW_CONFIG")
	seen := 0
	for _, name := range []string{"worker", "starter"} {
		svc, ok := compose.Services[name]
		if !ok {
			t.Fatalf("service %s missing", name)
		}
		for k := range svc.Environment {
			seen++
			if !slices.Contains(keys, k) {
				t.Errorf("%s sets %s, which is no configuration key", name, k)
			}
		}
	}
	if seen == 0 {
		t.Fatal("no environment found: the YAML anchors were not merged")
	}
	port := regexp.MustCompile(`:(\d+)$`)
	for svc, key := range map[string]string{"worker": "ORDERFLOW_WORKER_METRICS_LISTEN", "starter": "ORDERFLOW_HTTP_LISTEN"} {
		listen := port.FindStringSubmatch(compose.Services[svc].Environment[key])
		if listen == nil || !slices.Contains(compose.Services[svc].Ports, listen[1]+":"+listen[1]) {
			t.Errorf("%s listens on %v but publishes %v", svc, listen, compose.Services[svc].Ports)
		}
	}
}
