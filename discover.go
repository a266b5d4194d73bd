package cloister

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// maxConcurrentJoins bounds the joins of one discovery round, so that dead
// addresses in an answer cost one TCP timeout, not one each.
const maxConcurrentJoins = 8

// discoverLoop polls the sentry until the node stops. Each round joins every
// discovered address that is not a live member; discovery never removes
// anybody. Failures back off exponentially, capped, and are reported.
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

// join contacts the addresses in random order, in concurrent batches of
// maxConcurrentJoins. Before each batch it drops the addresses that became
// live members meanwhile: one successful join merges the contacted
// member's whole view, so a node starting into a running cluster of 50
// contacts a handful of them, not all 49 (that storm of full state
// exchanges used to starve 50 processes sharing two cores).
func (n *Node) join(ctx context.Context, addrs []netip.AddrPort) {
	rand.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	var errs []error
	joined := 0
	for len(addrs) > 0 && ctx.Err() == nil {
		batch, rest := addrs[:min(maxConcurrentJoins, len(addrs))], addrs[min(maxConcurrentJoins, len(addrs)):]
		k, err := n.joinBatch(ctx, batch)
		joined += k
		errs = append(errs, err...)
		addrs = n.absent(rest)
	}
	if len(errs) > 0 {
		n.logger.Debug("some discovered peers did not answer", "joined", joined, "failed", len(errs), "err", errors.Join(errs...))
	}
}

// joinBatch joins the addresses concurrently.
func (n *Node) joinBatch(ctx context.Context, addrs []netip.AddrPort) (int, []error) {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		errs   []error
		joined int
	)
	for _, a := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := n.ml.Join(ctx, []netip.AddrPort{a})
			mu.Lock()
			defer mu.Unlock()
			joined += k
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	return joined, errs
}
