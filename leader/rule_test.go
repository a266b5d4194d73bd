package leader_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/leader"
)

func TestElectRule(t *testing.T) {
	v := cloister.View{Members: []cloister.Member{
		{ID: "a#3", Incarnation: 3, Roles: []string{"web"}},
		{ID: "b#1", Incarnation: 1},
		{ID: "c#1", Incarnation: 1, Roles: []string{"web"}},
		{ID: "d#2", Incarnation: 2, Roles: []string{"web"}},
	}}
	for _, c := range []struct {
		role, want string
	}{
		{"", "b#1"},    // the oldest; the smaller ID breaks the tie
		{"web", "c#1"}, // the oldest with the role
		{"batch", ""},  // nobody has it: no leader
	} {
		m, ok := leader.Elect(v, c.role)
		if m.ID != c.want || ok != (c.want != "") {
			t.Errorf("role %q: got %q, %v; want %q", c.role, m.ID, ok, c.want)
		}
	}
}

func TestBadConfigIsTyped(t *testing.T) {
	cfg := cloister.LocalConfig()
	cfg.Services = []cloister.Service{leader.New(leader.Config{Lease: -time.Second})}
	_, err := cloister.Launch(context.Background(), cfg)
	var ce *cloister.ConfigError
	if !errors.Is(err, cloister.ErrInvalidConfig) || !errors.As(err, &ce) || ce.Field != "leader.Config.Lease" {
		t.Fatalf("a negative lease: %v, want a ConfigError naming leader.Config.Lease", err)
	}
}

// hostOnly is a host that tells nothing beyond cloister.Host: not its
// detection.
type hostOnly struct{ cloister.Host }

// onHostOnly starts the leader service on a hostOnly.
type onHostOnly struct{ *leader.Service }

func (s onHostOnly) Start(h cloister.Host) error { return s.Service.Start(hostOnly{h}) }

// The default lease is the node's Detection.Budget(10), and on a host that
// does not tell its detection, that of cloister's default, SteadyDetection.
func TestDefaultLeaseFollowsTheDetection(t *testing.T) {
	for _, c := range []struct {
		name string
		svc  func(*leader.Service) cloister.Service
		want time.Duration
	}{
		{"node's", func(s *leader.Service) cloister.Service { return s }, cloister.LocalDetection().Budget(10)},
		{"host without detection", func(s *leader.Service) cloister.Service { return onHostOnly{s} }, cloister.SteadyDetection().Budget(10)},
	} {
		svc := leader.New(leader.Config{})
		cfg := cloister.LocalConfig()
		cfg.Services = []cloister.Service{c.svc(svc)}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		n, err := cloister.Launch(ctx, cfg)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		lease, _ := svc.Lease()
		n.Stop(context.Background())
		if lease != c.want {
			t.Errorf("%s: default lease %v, want %v", c.name, lease, c.want)
		}
	}
}
