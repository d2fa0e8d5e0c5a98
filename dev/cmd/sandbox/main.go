// Command sandbox runs the stand-ins for the outside services orderflow talks
// to: for now the CRM (token + cancel-order endpoints). Development only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	sbcouriers "orderflow/dev/sandbox/couriers"
	"orderflow/dev/sandbox/crm"
	"orderflow/dev/sandbox/recoverydemo"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8090", "listen address of the sandbox CRM")
	clientID := flag.String("crm-client-id", envOr("SANDBOX_CRM_CLIENT_ID", "orderflow-demo"), "client_id the CRM accepts")
	clientSecret := flag.String("crm-client-secret", envOr("SANDBOX_CRM_CLIENT_SECRET", "demo-crm-secret"), "client_secret the CRM accepts")
	recoveryListen := flag.String("recovery-listen", "127.0.0.1:8092", "listen address of the revenue recovery sandbox (billing platform, payment processor, merchant)")
	couriersListen := flag.String("couriers-listen", "127.0.0.1:8091", "listen address of the sandbox couriers (Delhivery B2C/B2B, Shiprocket); empty: off")
	scenarioTick := flag.Duration("scenario-tick", 10*time.Second, "how often the courier scenario moves each demo shipment one step (once a poll has seen the current one)")
	flag.Parse()

	srv := &http.Server{Addr: *listen, Handler: crm.New(*clientID, *clientSecret, time.Hour).Handler(), ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	recoverySrv := &http.Server{Addr: *recoveryListen, Handler: recoverydemo.New().Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = recoverySrv.Shutdown(context.Background())
	}()
	go func() {
		if err := recoverySrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "sandbox: recovery:", err)
			os.Exit(1)
		}
	}()
	fmt.Printf("sandbox: revenue recovery (billing, processor, merchant) on http://%s\n", *recoveryListen)
	if *couriersListen != "" {
		sb := sbcouriers.New(sbcouriers.DefaultOptions())
		csrv := &http.Server{Addr: *couriersListen, Handler: sb.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go sb.RunScenario(ctx, *scenarioTick)
		go func() {
			<-ctx.Done()
			_ = csrv.Shutdown(context.Background())
		}()
		go func() {
			if err := csrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				fmt.Fprintln(os.Stderr, "sandbox couriers:", err)
				os.Exit(1)
			}
		}()
		fmt.Printf("sandbox: couriers on http://%s (call counts at /couriers/stats), scenario step every %s\n", *couriersListen, *scenarioTick)
	}
	fmt.Printf("sandbox: CRM on http://%s (received calls at /)\n", *listen)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
