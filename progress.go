package cloister

import (
	"fmt"
	"strings"
	"time"
)

// progressInterval is how often a node that is not Ready says why.
var progressInterval = 5 * time.Second

// progressLoop logs, every progressInterval while the node is not Ready,
// how far it got and what it waits for: a node held back by a consensus
// higher than the nodes available, or by peers with another secret, would
// otherwise wait in silence. It ends with loopCtx.
func (n *Node) progressLoop() {
	defer n.wg.Done()
	t := time.NewTicker(progressInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-n.loopCtx.Done():
			return
		}
		s := n.snap.Load()
		switch s.State {
		case Ready, Down, Stopping, Stopped:
			continue
		}
		n.logger.Warn("not ready: " + n.progress(s))
	}
}

// progress says how far the node got and what it waits for, e.g. "2 of
// 3 alive, 1 agreeing on view 0e3f5a7c9b1d2f40 (state assembling);
// waiting for 1 more member to reach consensus 3".
func (n *Node) progress(s *Snapshot) string {
	alive := len(s.View.Members)
	var agreeing int
	var pending []string
	for _, m := range s.View.Members {
		if m.ViewID == s.View.ID || m.ID == s.Self.ID {
			agreeing++
		} else {
			pending = append(pending, m.Name)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d alive, %d agreeing on view %s (state %s); waiting for ", alive, n.cfg.Consensus, agreeing, s.View.ID, s.State)
	switch {
	case s.State == NoQuorum:
		fmt.Fprintf(&b, "a quorum (%s) of the last agreed view at term %d to be reachable", n.cfg.Quorum.Policy, s.Term)
	case alive < n.cfg.Consensus && s.Term == 0:
		more := n.cfg.Consensus - alive
		plural := "s"
		if more == 1 {
			plural = ""
		}
		fmt.Fprintf(&b, "%d more member%s to reach consensus %d", more, plural, n.cfg.Consensus)
	case len(pending) > 0:
		fmt.Fprintf(&b, "%s to advertise this view", strings.Join(pending, ", "))
	default:
		b.WriteString("every member to accept this view at one term")
	}
	if err := n.LastDiscoveryError(); err != nil {
		fmt.Fprintf(&b, "; the last discovery failed: %v", err)
	} else if n.cfg.Sentry == nil {
		b.WriteString("; no sentry is set, so only members that join this node count")
	}
	if g := n.ml.Stats(); g.JoinsAuthFailed+g.PacketsAuthFailed+g.StreamsAuthFailed > 0 {
		fmt.Fprintf(&b, "; refused traffic from peers with another secret or app (%d joins, %d packets, %d streams so far)",
			g.JoinsAuthFailed, g.PacketsAuthFailed, g.StreamsAuthFailed)
	}
	return b.String()
}
