package cloister

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// maxConcurrentJoins bounds the joins in flight in one discovery round, and
// joinStagger is how long a pending join delays the next: together they
// keep dead addresses in an answer from costing one TCP timeout each.
const (
	maxConcurrentJoins = 8
	joinStagger        = 100 * time.Millisecond
)

// discoverLoop polls the sentry until the node stops. Each round joins
// through the first discovered address that is not a live member and
// answers; discovery never removes anybody. Failures back off exponentially, capped, and are reported.
func (n *Node) discoverLoop() {
	defer n.wg.Done()
	ctx := n.loopCtx
	failures := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-ctx.Done():
			return
		}
		if err := n.discoverOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
		} else {
			failures = 0
		}
		timer.Reset(nextPoll(n.cfg.DiscoveryInterval, n.cfg.DiscoveryMaxBackoff, failures))
	}
}

// nextPoll is the interval with ±20% jitter, doubled per consecutive
// failure up to maxBackoff.
func nextPoll(interval, maxBackoff time.Duration, failures int) time.Duration {
	d := interval
	for range min(failures, 30) {
		d *= 2
		if d >= maxBackoff {
			d = maxBackoff
			break
		}
	}
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

func (n *Node) discoverOnce(ctx context.Context) error {
	pollCtx, cancel := context.WithTimeout(ctx, max(n.cfg.DiscoveryInterval, n.cfg.Detection.TCPTimeout))
	peers, err := n.cfg.Sentry.Discover(pollCtx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		de := &DiscoveryError{Err: err}
		prev := n.lastDiscErr.Swap(de)
		if prev == nil || prev.Err.Error() != err.Error() {
			n.logger.Warn("discovery failed; members unchanged", "err", err)
		}
		n.emit(&DiscoveryFailed{Err: de})
		return de
	}
	if prev := n.lastDiscErr.Swap(nil); prev != nil {
		n.logger.Info("discovery recovered", "peers", len(peers))
	}
	n.join(ctx, n.absent(peers))
	return nil
}

// absent returns the discovered addresses that no live member holds.
func (n *Node) absent(peers []netip.AddrPort) []netip.AddrPort {
	// The snapshot, not memberlist's Members(): memberlist mutates the
	// nodes that one returns while gossip runs.
	alive := map[netip.AddrPort]bool{n.self.Addr: true}
	for _, m := range n.Members() {
		alive[m.Addr] = true
	}
	var out []netip.AddrPort
	for _, p := range peers {
		p = netip.AddrPortFrom(p.Addr().Unmap(), p.Port())
		if !alive[p] && !n.isSelf(p) {
			out = append(out, p)
		}
	}
	return out
}

// isSelf recognises this node's own port behind an address it is bound to.
func (n *Node) isSelf(p netip.AddrPort) bool {
	if p.Port() != n.self.Addr.Port() {
		return false
	}
	if bound := n.tr.Addr().Addr(); bound.IsValid() && !bound.IsUnspecified() {
		return p.Addr() == bound.Unmap()
	}
	for _, a := range localAddrs() {
		if a == p.Addr() {
			return true
		}
	}
	return false
}

// join contacts the addresses in random order until one of them answers.
// One successful join is enough: memberlist exchanges the whole state of
// both sides, and gossip does the rest. A node starting into a running
// cluster of 50 therefore makes one state exchange, not 49 (that storm of
// exchanges, each decoding every member, used to starve 50 processes
// sharing two cores). The next attempt starts as soon as the previous ones
// have failed (a refused connection fails at once), or joinStagger after
// the last one started while those are still pending (a dead host costs a
// TCP timeout), with at most maxConcurrentJoins in flight. Addresses that
// became live members meanwhile are skipped. Several islands of one
// cluster merge one per discovery round.
func (n *Node) join(ctx context.Context, addrs []netip.AddrPort) {
	rand.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	errs := joinFirst(ctx, addrs, joinStagger,
		func(a netip.AddrPort) bool { return len(n.absent([]netip.AddrPort{a})) == 0 },
		func(ctx context.Context, a netip.AddrPort) error {
			_, err := n.ml.Join(ctx, []netip.AddrPort{a})
			return err
		})
	if len(errs) > 0 {
		n.logger.Debug("some discovered peers did not answer", "failed", len(errs), "err", errors.Join(errs...))
	}
}

// joinFirst tries addrs in order until one try succeeds, and returns the
// errors of the tries that failed. A try starts when every earlier one has
// failed, or stagger after the last start while earlier ones are pending,
// with at most maxConcurrentJoins pending; addresses for which member
// reports true are skipped. It returns once a try succeeded, or every
// address was tried, or ctx ended, after the pending tries have returned.
func joinFirst(ctx context.Context, addrs []netip.AddrPort, stagger time.Duration,
	member func(netip.AddrPort) bool, try func(context.Context, netip.AddrPort) error) []error {
	results := make(chan error, len(addrs)) // tries never block on it
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var errs []error
	pending, next, due := 0, 0, true
	for ctx.Err() == nil {
		if due && pending < maxConcurrentJoins {
			for next < len(addrs) && member(addrs[next]) {
				next++
			}
			if next < len(addrs) {
				a := addrs[next]
				next++
				pending++
				wg.Add(1)
				go func() {
					defer wg.Done()
					results <- try(ctx, a)
				}()
				due = false
				timer.Reset(stagger)
			}
		}
		if pending == 0 {
			break // every address was tried
		}
		select {
		case err := <-results:
			pending--
			if err == nil {
				return errs
			}
			errs = append(errs, err)
			due = true
		case <-timer.C:
			due = true
		case <-ctx.Done():
		}
	}
	return errs
}
