package cloister

import (
	"context"
	"time"
)

// BeforeStopper is a Service that wants a last word before its node
// leaves: Stop calls BeforeStop first, while the node is still a member in
// its state and can call its peers (once it announces that it is
// stopping, calls are refused), within the Stop's deadline and at most the
// TCP timeout of Config.Detection. The leader service hands leadership
// over here, so its successor need not wait out the takeover margin.
type BeforeStopper interface {
	BeforeStop(ctx context.Context)
}

// beforeStop runs every service's BeforeStop, in order, within leaveBy
// (if set) and the TCP timeout.
func (n *Node) beforeStop(leaveBy time.Time) {
	var hooks []BeforeStopper
	for _, s := range n.cfg.Services {
		if b, ok := s.(BeforeStopper); ok {
			hooks = append(hooks, b)
		}
	}
	if len(hooks) == 0 {
		return
	}
	deadline := time.Now().Add(n.cfg.Detection.TCPTimeout)
	if !leaveBy.IsZero() && leaveBy.Before(deadline) {
		deadline = leaveBy
	}
	ctx, cancel := context.WithDeadline(n.loopCtx, deadline)
	defer cancel()
	for _, h := range hooks {
		h.BeforeStop(ctx)
	}
}
