package workflows

import (
	"os"
	"testing"

	"gopkg.in/yaml.v3"

	"orderflow/tracking"
)

// The cluster's dynamic config must give every courier queue one partition,
// or the server dispatches a courier's polls at a fraction of its rate.
func TestDeployDynamicConfigGivesEveryCourierQueueOnePartition(t *testing.T) {
	raw, err := os.ReadFile("../deploy/temporal-dynamicconfig.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string][]struct {
		Value       any               `yaml:"value"`
		Constraints map[string]string `yaml:"constraints"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, key := range OnePartitionConfig {
		onePartition := map[string]bool{}
		for _, v := range cfg[key] {
			if v.Value == 1 {
				onePartition[v.Constraints["taskQueueName"]] = true
			}
		}
		for _, api := range tracking.APIs {
			if q := CourierTaskQueue(DefaultTaskQueue, api); !onePartition[q] {
				t.Errorf("%s: %s has no value 1", key, q)
			}
		}
	}
}

func TestDevServerFlagsSetOnePartition(t *testing.T) {
	flags := DevServerFlags()
	for _, key := range OnePartitionConfig {
		found := false
		for i := 0; i+1 < len(flags); i++ {
			found = found || (flags[i] == "--dynamic-config-value" && flags[i+1] == key+"=1")
		}
		if !found {
			t.Errorf("DevServerFlags lacks --dynamic-config-value %s=1: %v", key, flags)
		}
	}
}
