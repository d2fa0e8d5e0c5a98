//go:build integration

package tests

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// No development credential reaches a deployed system: the worker and the
// starter binaries refuse to start with a credential published in
// config/dev.yaml unless that file's development mode is on, naming the key
// and dev_mode, never the value. A forged push signed with the demo
// fulfilment secret could otherwise cancel a real order at the CRM.
func TestProcessesRefuseADevelopmentCredentialOutsideDevMode(t *testing.T) {
	s := newStack(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	const demoSecret = "dev-fulfilment-secret-change-me"
	cases := []struct {
		name string
		env  []string
		want []string
	}{
		{"the deployment config given the demo secret",
			[]string{"ORDERFLOW_CONFIG=" + filepath.Join(root, "config/orderflow.yaml"),
				"ORDERFLOW_PUSH_FULFILMENT_SECRETS=acme:" + demoSecret},
			[]string{"config: push.fulfilment_secrets.acme: holds a development credential"}},
		{"the development config without dev_mode",
			[]string{"ORDERFLOW_CONFIG=" + filepath.Join(root, "config/dev.yaml"), "ORDERFLOW_DEV_MODE=false"},
			[]string{"config: push.clickpost_keys.demo: holds a development credential",
				"config: couriers.delhivery.token: holds a development credential"}},
	}
	for _, tc := range cases {
		for _, bin := range []struct{ name, path string }{{"worker", env.workerBin}, {"starter", starterBin(t)}} {
			t.Run(tc.name+"/"+bin.name, func(t *testing.T) {
				extra := append([]string{"ORDERFLOW_HTTP_LISTEN=" + freeAddr(t)}, tc.env...)
				out := s.runBinary(t, bin.path, extra).refusal(t, 30*time.Second)
				for _, want := range append(tc.want, "refusing to start", "dev_mode: true") {
					if !strings.Contains(out, want) {
						t.Errorf("the refusal does not say %q:\n%s", want, out)
					}
				}
				if strings.Contains(out, demoSecret) {
					t.Error("the refusal quotes the secret")
				}
			})
		}
	}
}
