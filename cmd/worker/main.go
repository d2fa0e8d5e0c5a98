// Command worker runs orderflow's Temporal worker.
package main

import (
	"orderflow/cmd/internal/cli"
	"orderflow/worker"
)

func main() { cli.Main("worker", worker.Run) }
