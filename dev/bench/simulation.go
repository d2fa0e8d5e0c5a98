package bench

import (
	"context"
	"fmt"

	"orderflow/dev/bench/recoverysim"
)

// simulationRowName is the simulation row's name: -only "simulation" selects it.
const simulationRowName = "revenue recovery simulation: seeded decline model in simulated time (cascading, smart, adaptive)"

// simulatedAlgorithm is an algorithm the simulation row compares; adapter is
// nil while the algorithm is not on this branch (its figures say so).
type simulatedAlgorithm struct {
	name    string
	adapter func() recoverysim.Algorithm
	missing string
}

func simulatedAlgorithms() []simulatedAlgorithm {
	return []simulatedAlgorithm{
		{name: "cascading", adapter: recoverysim.Cascading},
		{name: "smart", adapter: recoverysim.Smart},
		{name: "adaptive", adapter: recoverysim.Adaptive},
	}
}

// The parameter sweeps: each varies one parameter of the default model.
var (
	sweepSoftSuccess     = []float64{0.05, 0.10, 0.20, 0.30}
	sweepCardUpdateRate  = []float64{0, 0.15, 0.30, 0.50}
	sweepSharedCardShare = []float64{0, 0.25, 0.50}
)

// runSimulation needs no environment: it runs orderflow's decision code on
// the simulated population (recoverysim) in a few seconds.
func runSimulation(_ context.Context, _ *Env, _ Options) (Row, error) {
	return simulationRow(recoverysim.DefaultModel()), nil
}

// simulationRow measures every algorithm at the model's central point, its
// rules-off control, and the sweeps.
func simulationRow(m recoverysim.Model) Row {
	figs := []Figure{
		plain(fmt.Sprintf("invoices (simulation in simulated time; population seeded with %d)", m.Seed), float64(m.Invoices), ""),
	}
	for _, a := range simulatedAlgorithms() {
		if a.adapter == nil {
			figs = append(figs, Figure{Name: a.name, Note: "not measured: " + a.missing})
			continue
		}
		figs = append(figs, algorithmFigures(a.name, m, a.adapter)...)
	}
	figs = append(figs, largerMerchantFigures(m)...)
	sweepFigs, charts := simulationSweeps(m)
	return Row{Figures: append(figs, sweepFigs...), Charts: charts}
}

// largerMerchant is how many times the central point's invoices a larger
// merchant bills (20,000 at the default model). Adaptive timing trusts a slot (decline class × hour × day of month) only
// with recovery.AdaptiveMinSamples past retries: at the central point few
// slots get there and it keeps the cascading times; a larger merchant shows
// what it does once they do.
const largerMerchant = 5

func largerMerchantFigures(m recoverysim.Model) []Figure {
	m.Invoices *= largerMerchant
	var figs []Figure
	for _, adapter := range []func() recoverysim.Algorithm{recoverysim.Cascading, recoverysim.Adaptive} {
		r := recoverysim.Run(recoverysim.Options{Model: m, Algorithm: adapter(), Rules: true})
		prefix := fmt.Sprintf("%d invoices, %s", m.Invoices, r.Algorithm)
		figs = append(figs,
			plain(prefix+": recovered share / charges per recovered", round(100*r.RecoveredShare(), 2), fmt.Sprintf("%% / %.2f", r.ChargesPerRecovered())),
			plain(prefix+": retries moved off the cascading time", float64(r.Moved), fmt.Sprintf("of %d charges", r.Charges)),
			target(prefix+": rule violations by orderflow's charges (independent counter)", float64(r.Violations(false)), "", "0", r.Violations(false) == 0))
	}
	return figs
}

func algorithmFigures(name string, m recoverysim.Model, adapter func() recoverysim.Algorithm) []Figure {
	on := recoverysim.Run(recoverysim.Options{Model: m, Algorithm: adapter(), Rules: true})
	off := recoverysim.Run(recoverysim.Options{Model: m, Algorithm: adapter(), Rules: false})
	codes := recoverysim.Run(recoverysim.Options{Model: m, Algorithm: adapter(), Rules: true, PlatformNetworkCodes: true})
	own, withPlatform, control := on.Violations(false), on.Violations(true), off.Violations(false)
	withCodes := codes.Violations(true)
	return []Figure{
		plain(name+": recovered share", round(100*on.RecoveredShare(), 1), "%"),
		plain(name+": orderflow charges per recovered invoice", round(on.ChargesPerRecovered(), 2), ""),
		plain(name+": charges held back by orderflow's rule check", float64(on.Blocked), ""),
		plain(name+": retries moved off the schedule's time (adaptive slots)", float64(on.Moved), ""),
		target(name+": rule violations by orderflow's charges (independent counter, orderflow's charges in the windows)",
			float64(own), "", "0", own == 0),
		target(name+": rule violations by orderflow's charges, the billing platform's failed attempts in the windows too (its events' Stripe codes only)",
			float64(withPlatform), "", "0", withPlatform == 0),
		target(name+": the same, the network codes of the platform's declines read from the processor",
			float64(withCodes), "", "0", withCodes == 0),
		plain(name+", the platform's network codes read: recovered share", round(100*codes.RecoveredShare(), 1), "%"),
		target(name+", rules off (control): rule violations by orderflow's charges", float64(control), "", "> 0", control > 0),
		plain(name+", rules off (control): recovered share", round(100*off.RecoveredShare(), 1), "%"),
	}
}

// simulationSweeps runs the model at several values of one parameter at a
// time: the soft-decline success probability and the card-update rate (how
// recovered share and charges move), and the share of customers whose card
// pays several invoices (how the violations move once the billing
// platform's attempts count: those its events' Stripe codes hide).
func simulationSweeps(m recoverysim.Model) ([]Figure, []Chart) {
	var figs []Figure
	worstOn, leastControl := 0, -1
	run := func(mv recoverysim.Model, a simulatedAlgorithm) recoverysim.Result {
		on := recoverysim.Run(recoverysim.Options{Model: mv, Algorithm: a.adapter(), Rules: true})
		off := recoverysim.Run(recoverysim.Options{Model: mv, Algorithm: a.adapter(), Rules: false})
		worstOn = max(worstOn, on.Violations(false))
		if c := off.Violations(false); leastControl < 0 || c < leastControl {
			leastControl = c
		}
		return on
	}
	sweep := func(param string, values []float64, set func(*recoverysim.Model, float64), figure func(string, recoverysim.Result) Figure) []Series {
		var out []Series
		for _, a := range simulatedAlgorithms() {
			if a.adapter == nil {
				continue
			}
			series := Series{Name: a.name}
			for _, v := range values {
				mv := m
				set(&mv, v)
				f := figure(a.name, run(mv, a))
				f.Name = fmt.Sprintf("sweep %s = %g: %s", param, v, f.Name)
				figs = append(figs, f)
				series.Points = append(series.Points, Point{X: v, Y: f.Value})
			}
			out = append(out, series)
		}
		return out
	}
	recovered := func(name string, r recoverysim.Result) Figure {
		return plain(name+" recovered share / charges per recovered", round(100*r.RecoveredShare(), 1), fmt.Sprintf("%% / %.2f", r.ChargesPerRecovered()))
	}
	withPlatform := func(name string, r recoverysim.Result) Figure {
		return plain(name+" violations with the billing platform's attempts counted / without", float64(r.Violations(true)), fmt.Sprintf("/ %d", r.Violations(false)))
	}
	charts := []Chart{
		{Title: "Revenue recovery simulation: recovered share vs soft-decline success probability", XLabel: "soft-decline success probability",
			YLabel: "% recovered", YMax: 100,
			Series: sweep("soft-decline success probability", sweepSoftSuccess, func(m *recoverysim.Model, v float64) { m.SoftSuccess = v }, recovered)},
		{Title: "Revenue recovery simulation: recovered share vs card-update rate", XLabel: "card-update rate", YLabel: "% recovered", YMax: 100,
			Series: sweep("card-update rate", sweepCardUpdateRate, func(m *recoverysim.Model, v float64) { m.CardUpdateRate = v }, recovered)},
		{Title: "Revenue recovery simulation: violations once the billing platform's attempts count, vs shared-card share",
			XLabel: "share of customers paying 2-3 invoices with one card", YLabel: "violations",
			Series: sweep("shared-card share", sweepSharedCardShare, func(m *recoverysim.Model, v float64) { m.SharedCardShare = v }, withPlatform)},
	}
	figs = append(figs,
		target("sweep: most rule violations by orderflow's charges at any point (orderflow's charges in the windows)", float64(worstOn), "", "0", worstOn == 0),
		target("sweep: fewest rule violations of the rules-off control at any point", float64(leastControl), "", "> 0", leastControl > 0))
	return figs, charts
}
