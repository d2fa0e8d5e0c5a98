// Command devstore runs the embedded MongoDB-compatible store (FerretDB on
// SQLite) for `make run`. Development only: production uses MongoDB.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"orderflow/dev/devstore"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:27017", "listen address")
	dir := flag.String("dir", "data/mongo", "data directory (kept across restarts)")
	pgURL := flag.String("postgresql-url", "", "use this PostgreSQL instead of SQLite in -dir (make chaos does)")
	flag.Parse()
	srv, err := devstore.Start(devstore.Options{Addr: *addr, Dir: *dir, PostgreSQLURL: *pgURL})
	if err != nil {
		fmt.Fprintln(os.Stderr, "devstore:", err)
		os.Exit(1)
	}
	fmt.Printf("devstore: MongoDB wire protocol on %s, data in %s\n", srv.URI(), *dir)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "devstore:", err)
		os.Exit(1)
	}
}
