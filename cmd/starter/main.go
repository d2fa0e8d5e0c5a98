// Command starter runs orderflow's HTTP server: configuration API and ingress.
package main

import (
	"orderflow/cmd/internal/cli"
	"orderflow/starter"
)

func main() { cli.Main("starter", starter.Serve) }
