package starter

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"orderflow/config"
	"orderflow/ingress"
	"orderflow/store"
	"orderflow/temporalclient"
)

// EndpointUsage describes `starter endpoint`.
const EndpointUsage = `usage: starter endpoint [-config file] show|enable -kind crm_webhook|merchant_webhook -id id [options]
  show                print the endpoint's circuit breaker state and how many deliveries are parked
  enable              re-enable (or close) the endpoint and drain its parked deliveries, oldest first
  -kind kind          crm_webhook (a CRM webhook id) or merchant_webhook (a merchant profile id)
  -id id              the webhook or profile id (never its URL)
  -rate n             deliveries released a second (default: delivery.breaker.drain_rate_per_second)
  -reason text        why (logged with the operator's name)`

// endpointArgs is a parsed `starter endpoint` command.
type endpointArgs struct {
	enable     bool
	kind, id   string
	rate       float64
	reason     string
	rateWasSet bool
}

// EndpointCommand runs `starter endpoint`.
func EndpointCommand(ctx context.Context, cfg config.Config, logger *zap.Logger, args []string, out io.Writer) error {
	a, err := parseEndpoint(args, out)
	if err != nil {
		return err
	}
	if !a.rateWasSet {
		a.rate = cfg.Delivery.Breaker.DrainRatePerSecond
	}
	st, err := store.Connect(ctx, cfg.Mongo.URI, cfg.Mongo.Database, cfg.Mongo.ConnectTimeout)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close(context.Background()) }()
	var state ingress.EndpointState
	if a.enable {
		tc, err := temporalclient.Dial(cfg.Temporal, logger, nil)
		if err != nil {
			return err
		}
		defer tc.Close()
		state, err = ingress.EnableEndpoint(ctx, st, tc, cfg.Temporal.TaskQueue, a.kind, a.id, a.rate, time.Now())
		if err != nil {
			return err
		}
		logger.Info("endpoint enabled by CLI", zap.String("kind", a.kind), zap.String("destination_id", a.id),
			zap.String("actor", cliActor()), zap.String("reason", a.reason))
	} else if state, err = ingress.LoadEndpoint(ctx, st, a.kind, a.id, time.Now()); err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(state)
}

func parseEndpoint(args []string, out io.Writer) (endpointArgs, error) {
	var a endpointArgs
	if len(args) == 0 || (args[0] != "show" && args[0] != "enable") {
		return a, errors.New(EndpointUsage)
	}
	a.enable = args[0] == "enable"
	fs := flag.NewFlagSet("endpoint", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&a.kind, "kind", "", "")
	fs.StringVar(&a.id, "id", "", "")
	fs.StringVar(&a.reason, "reason", "", "")
	fs.Float64Var(&a.rate, "rate", 0, "")
	fs.Usage = func() { _, _ = fmt.Fprintln(out, EndpointUsage) }
	if err := fs.Parse(args[1:]); err != nil {
		return a, err
	}
	fs.Visit(func(f *flag.Flag) { a.rateWasSet = a.rateWasSet || f.Name == "rate" })
	if fs.NArg() > 0 || a.kind == "" || a.id == "" {
		return a, errors.New(EndpointUsage)
	}
	if a.rateWasSet && a.rate <= 0 {
		return a, errors.New("-rate (drain_rate_per_second) must be greater than 0")
	}
	return a, nil
}
