package cloister

import (
	"fmt"
	"strings"
)

// startServices starts the built-in services and Config.Services, in that
// order, then closes the gossip channel to new services.
func (n *Node) startServices() error {
	n.mon = &monitorService{}
	services := append([]Service{n.mon}, n.cfg.Services...)
	for _, s := range services {
		name := s.Name()
		h := &serviceHost{n: n, name: name, log: n.logger.With("service", name)}
		if err := s.Start(h); err != nil {
			return fmt.Errorf("cloister: service %s: %w", name, err)
		}
	}
	n.gossip.started.Store(true)
	return nil
}

// abortStart releases what newNode built before it failed.
func (n *Node) abortStart() {
	n.loopCancel()
	n.wg.Wait()
	_ = n.calls.Close()
	n.closeDispatchers()
}

// initialSnapshot is the node's state before Start: Down, alone.
func (n *Node) initialSnapshot(c interface{ Consensus() int }) *Snapshot {
	self := memberFromCore(n.self)
	self.StateName = Down.String()
	return &Snapshot{
		Self: self, State: Down, StateName: Down.String(), Consensus: c.Consensus(),
		View: View{Members: []Member{self}},
	}
}

// validateServices checks Config.Services: present, named, unique.
func validateServices(ss []Service) error {
	seen := map[string]bool{"monitor": true}
	for i, s := range ss {
		if s == nil {
			return &ConfigError{Field: "Services", Reason: fmt.Sprintf("service %d is nil", i)}
		}
		name := s.Name()
		if name == "" || len(name) > 64 || strings.IndexFunc(name, notNameRune) >= 0 {
			return &ConfigError{Field: "Services", Reason: fmt.Sprintf("service name %q must be 1 to 64 letters, digits, '-', '_' or '.'", name)}
		}
		if seen[name] {
			return &ConfigError{Field: "Services", Reason: fmt.Sprintf("service %q attached twice (or named like a built-in one)", name)}
		}
		seen[name] = true
	}
	return nil
}
