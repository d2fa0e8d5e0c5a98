package couriers

import (
	"context"
	"slices"
	"testing"
)

type fakePoller struct{ api string }

func (f fakePoller) API() string     { return f.api }
func (f fakePoller) MaxPerCall() int { return 50 }
func (f fakePoller) Track(context.Context, []string) ([]Shipment, error) {
	return nil, nil
}

func TestRegistryFindsPollersByAPIAndListsThemInNameOrder(t *testing.T) {
	r := NewRegistry(fakePoller{"shiprocket"}, fakePoller{"delhivery"})
	if p, ok := r.Poller("delhivery"); !ok || p.API() != "delhivery" {
		t.Errorf("delhivery: %v %v", p, ok)
	}
	if _, ok := r.Poller("delhivery_b2b"); ok {
		t.Error("an API nobody registered was found")
	}
	if got := r.APIs(); !slices.Equal(got, []string{"delhivery", "shiprocket"}) {
		t.Errorf("APIs %v", got)
	}
}

func TestRegistryRefusesTwoPollersForOneAPI(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("two pollers for one API were accepted")
		}
	}()
	NewRegistry(fakePoller{"delhivery"}, fakePoller{"delhivery"})
}

func TestNilRegistryHasNoPollers(t *testing.T) {
	var r *Registry
	if _, ok := r.Poller("delhivery"); ok || len(r.APIs()) != 0 {
		t.Error("a nil registry found a poller")
	}
}
