package rig

import (
	"os"
	"slices"
	"strconv"
	"strings"

	"orderflow/config"
)

// ProcessEnv is the environment that runs an orderflow binary (worker,
// starter) against cfg's Temporal and Mongo, configured through ORDERFLOW_*
// as in production: this process's environment plus those keys, and the
// payload codec's keys when cfg lists any.
func ProcessEnv(cfg config.Config, apiKey, logLevel string) []string {
	env := append(os.Environ(),
		"ORDERFLOW_TEMPORAL_ADDRESS="+cfg.Temporal.Address,
		"ORDERFLOW_TEMPORAL_TASK_QUEUE="+cfg.Temporal.TaskQueue,
		"ORDERFLOW_MONGO_URI="+cfg.Mongo.URI,
		"ORDERFLOW_MONGO_DATABASE="+cfg.Mongo.Database,
		"ORDERFLOW_HTTP_API_KEY="+apiKey,
		"ORDERFLOW_WORKER_METRICS_LISTEN=127.0.0.1:0",
		"ORDERFLOW_LOG_LEVEL="+logLevel,
		"ORDERFLOW_DELIVERY_BREAKER_FAILURE_THRESHOLD="+strconv.Itoa(cfg.Delivery.Breaker.FailureThreshold),
		"ORDERFLOW_DELIVERY_BREAKER_HALF_OPEN_INTERVAL="+cfg.Delivery.Breaker.HalfOpenInterval.String(),
	)
	return append(env, codecEnv(cfg.Temporal.Codec)...)
}

// codecEnv is the codec's configuration as ORDERFLOW_TEMPORAL_CODEC_* variables.
func codecEnv(c config.Codec) []string {
	if !c.Enabled && len(c.Keys) == 0 {
		return nil
	}
	var keys []string
	for id, key := range c.Keys {
		keys = append(keys, id+":"+key)
	}
	slices.Sort(keys)
	return []string{
		"ORDERFLOW_TEMPORAL_CODEC_ENABLED=" + strconv.FormatBool(c.Enabled),
		"ORDERFLOW_TEMPORAL_CODEC_KEYS=" + strings.Join(keys, ","),
		"ORDERFLOW_TEMPORAL_CODEC_ACTIVE_KEY_ID=" + c.ActiveKeyID,
	}
}
