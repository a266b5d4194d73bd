package registry_test

import (
	"errors"
	"testing"
	"time"

	"github.com/cloister-go/cloister/registry"
)

// A name registered on one node is visible on every node, callable by name
// from any, unique, and gone everywhere once unregistered.
func TestRegisterLookupCallUnregister(t *testing.T) {
	c := newCluster(t, 3, nil)
	ctx := ctxT(t, 20*time.Second)
	reg, err := c.reg(0).Register(ctx, "price-master", echo("n0"))
	if err != nil {
		t.Fatal(err)
	}
	self := c.Node(0).Self().ID
	if reg.Holder.ID != self || reg.Term == 0 {
		t.Fatalf("registration %+v", reg)
	}
	c.WaitFor("the name on every node", func() bool { return c.holderEverywhere("price-master", self, 0, 1, 2) })
	for i := range 3 {
		got, err := c.reg(i).Call(ctx, "price-master", []byte("hi"))
		if err != nil || string(got) != "n0:hi" {
			t.Fatalf("call from node %d: %q, %v", i, got, err)
		}
	}
	var taken *registry.NameTakenError
	if _, err := c.reg(2).Register(ctx, "price-master", echo("n2")); !errors.As(err, &taken) || taken.Holder.ID != self {
		t.Fatalf("second registration: %v", err)
	}
	if _, err := c.reg(0).Register(ctx, "price-master", echo("n0")); !errors.Is(err, registry.ErrNameTaken) {
		t.Fatalf("registration twice by its holder: %v", err)
	}
	if err := c.reg(0).Unregister("price-master"); err != nil {
		t.Fatal(err)
	}
	c.WaitFor("the name gone everywhere", func() bool { return c.holderEverywhere("price-master", "", 0, 1, 2) })
	if _, err := c.reg(1).Call(ctx, "price-master", nil); !errors.Is(err, registry.ErrNoSuchName) {
		t.Fatalf("call after unregister: %v", err)
	}
	if _, err := c.reg(2).Register(ctx, "price-master", echo("n2")); err != nil {
		t.Fatalf("registration after unregister: %v", err)
	}
	if err := c.reg(1).Unregister("price-master"); !errors.Is(err, registry.ErrNoSuchName) {
		t.Fatalf("unregister by a non-holder: %v", err)
	}
	if _, err := c.reg(1).Register(ctx, "", echo("x")); !errors.Is(err, registry.ErrInvalidName) {
		t.Fatalf("empty name: %v", err)
	}
}
