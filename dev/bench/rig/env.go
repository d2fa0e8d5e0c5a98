package rig

import (
	"os"

	"orderflow/config"
)

// ProcessEnv is the environment that runs an orderflow binary (worker,
// starter) against cfg's Temporal and Mongo, configured through ORDERFLOW_*
// as in production: this process's environment plus those keys.
func ProcessEnv(cfg config.Config, apiKey, logLevel string) []string {
	return append(os.Environ(),
		"ORDERFLOW_TEMPORAL_ADDRESS="+cfg.Temporal.Address,
		"ORDERFLOW_TEMPORAL_TASK_QUEUE="+cfg.Temporal.TaskQueue,
		"ORDERFLOW_MONGO_URI="+cfg.Mongo.URI,
		"ORDERFLOW_MONGO_DATABASE="+cfg.Mongo.Database,
		"ORDERFLOW_HTTP_API_KEY="+apiKey,
		"ORDERFLOW_WORKER_METRICS_LISTEN=127.0.0.1:0",
		"ORDERFLOW_LOG_LEVEL="+logLevel,
	)
}
