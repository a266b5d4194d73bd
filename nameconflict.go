package cloister

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloister-go/cloister/internal/core"
	"github.com/cloister-go/cloister/rpc"
)

// ErrNameConflict: another live node already has this node's name
// (app@ip:port): two nodes advertise the same address. The node that
// started later stops, and its Start (or WaitReady) fails with a
// *NameConflictError, which matches ErrNameConflict and ErrStopped.
var ErrNameConflict = errors.New("cloister: another live node has this node's name")

// NameConflictError says which live node holds the name.
type NameConflictError struct {
	Name  string // the name both nodes have
	Other string // the ID of the node that keeps it (started first)
}

func (e *NameConflictError) Error() string {
	return fmt.Sprintf("cloister: %s is already the name of live node %s (check the advertised address): this node stopped", e.Name, e.Other)
}

// Unwrap returns ErrNameConflict and ErrStopped.
func (e *NameConflictError) Unwrap() []error { return []error{ErrNameConflict, ErrStopped} }

// maxNameChecks bounds the other incarnations of its name a node checks.
const maxNameChecks = 16

// checkName runs, on the goroutine that owns the core, for each live
// member reported. The rule when two nodes have one name: the one that
// started first keeps it. Members count only the newest incarnation of a
// name, so that a restart replaces its crashed predecessor at once; the
// newer node therefore tells a crashed predecessor from a live namesake by
// calling it: the call layer checks the callee's ID, so an answer comes
// only from that very incarnation, alive. Then the newer node stops.
func (n *Node) checkName(m core.Member) {
	if m.Name != n.self.Name || m.ID == n.self.ID || m.Hidden || m.Incarnation > n.self.Incarnation ||
		m.Incarnation == n.self.Incarnation && m.ID > n.self.ID {
		return
	}
	if n.nameChecked == nil {
		n.nameChecked = map[string]bool{}
	}
	if n.nameChecked[m.ID] || len(n.nameChecked) >= maxNameChecks {
		return
	}
	n.nameChecked[m.ID] = true
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		ctx, cancel := context.WithTimeout(n.loopCtx, n.cfg.Detection.TCPTimeout)
		defer cancel()
		_, err := n.calls.Call(ctx, rpc.Peer{ID: m.ID, Addr: m.Addr}, CallsServedHandler, nil)
		if err != nil && !errors.Is(err, ErrNoHandler) {
			return // not there: a predecessor that crashed
		}
		e := &NameConflictError{Name: n.self.Name, Other: m.ID}
		n.conflict.Store(e)
		n.logger.Error("name conflict: stopping", "other", m.ID, "err", e)
		go func() { _ = n.Stop(context.Background()) }() // Stop waits for this goroutine's group
	}()
}

// stoppedErr is what a wait ended by the node's stop returns.
func (n *Node) stoppedErr() error {
	if e := n.conflict.Load(); e != nil {
		return e
	}
	return ErrStopped
}
