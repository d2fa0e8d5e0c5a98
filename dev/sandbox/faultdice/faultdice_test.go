package faultdice

import (
	"fmt"
	"testing"
)

func TestUnitDependsOnlyOnSeedKeyAndCallNumberAndIsUniform(t *testing.T) {
	for n := range 5 {
		if Unit(7, "k", n) != Unit(7, "k", n) {
			t.Fatal("Unit is not a function of its inputs")
		}
	}
	if Unit(7, "k", 0) == Unit(8, "k", 0) {
		t.Error("the seed does not change the decision")
	}
	const trials = 20000
	below := 0
	for i := range trials {
		u := Unit(1, fmt.Sprintf("rto-cancel:%024x:hook", i), 0)
		if u < 0 || u >= 1 {
			t.Fatalf("Unit out of [0,1): %v", u)
		}
		if u < 0.3 {
			below++
		}
	}
	if share := float64(below) / trials; share < 0.28 || share > 0.32 {
		t.Errorf("share below 0.3 is %.3f: the decisions are not uniform", share)
	}
}
