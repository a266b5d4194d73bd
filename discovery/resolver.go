package discovery

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// maxParallel bounds the lookups one Discover runs at once (SRV targets,
// Static host names); each is two queries, A and AAAA.
const maxParallel = 16

// resolver is a stub resolver built on miekg/dns. It is immutable, so safe
// for concurrent use.
type resolver struct {
	opts options
}

// clientConf is what one lookup uses: the servers in order, the search list
// and ndots.
type clientConf struct {
	servers []string // host:port
	search  []string // fully qualified
	ndots   int
}

// conf returns the configuration for one lookup: the options' servers, or
// else resolv.conf read now, with WithSearch and WithNdots on top.
func (r *resolver) conf() (*clientConf, error) {
	c := &clientConf{servers: r.opts.servers, ndots: 1}
	if len(c.servers) == 0 {
		path := r.opts.resolvConf
		cc, err := dns.ClientConfigFromFile(path)
		if err != nil {
			return nil, newFault(ErrLookup, "resolver configuration: %w", err)
		}
		for _, s := range cc.Servers {
			if a, err := netip.ParseAddr(s); err == nil {
				c.servers = append(c.servers, net.JoinHostPort(a.String(), cc.Port))
			}
		}
		if len(c.servers) == 0 {
			return nil, newFault(ErrLookup, "resolver configuration: %s lists no nameserver IP address", path)
		}
		for _, d := range cc.Search {
			if validName(d) {
				c.search = append(c.search, strings.TrimSuffix(d, ".")+".")
			}
		}
		c.ndots = cc.Ndots
	}
	if r.opts.searchSet {
		c.search = r.opts.search
	}
	if r.opts.ndotsSet {
		c.ndots = r.opts.ndots
	}
	return c, nil
}

// walk tries the candidate names for name in order until try gives a
// non-empty result. It stops early when ctx is done. On failure it returns
// the most severe error seen.
func walk[T any](ctx context.Context, c *clientConf, name string, try func(fq string) ([]T, error)) ([]T, error) {
	var worst error
	for _, fq := range candidates(name, c.search, c.ndots) {
		if worst != nil && ctx.Err() != nil {
			break
		}
		got, err := try(fq)
		if len(got) > 0 {
			return got, nil
		}
		worst = worse(worst, err)
	}
	return nil, worst
}

// lookupIP resolves name, relative or absolute, to its A and AAAA addresses.
func (r *resolver) lookupIP(ctx context.Context, c *clientConf, name string) ([]netip.Addr, error) {
	return walk(ctx, c, name, func(fq string) ([]netip.Addr, error) {
		return r.lookupFQDN(ctx, c, fq)
	})
}

// lookupFQDN queries A and AAAA for an absolute name concurrently. Either
// one answering with addresses is a success: a partial answer beats none.
func (r *resolver) lookupFQDN(ctx context.Context, c *clientConf, fq string) ([]netip.Addr, error) {
	types := [2]uint16{dns.TypeA, dns.TypeAAAA}
	var (
		wg    sync.WaitGroup
		addrs [2][]netip.Addr
		errs  [2]error
	)
	for i, t := range types {
		wg.Go(func() {
			m, err := r.ask(ctx, c.servers, fq, t)
			if err == nil {
				addrs[i], err = addresses(m, fq, t)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if all := append(addrs[0], addrs[1]...); len(all) > 0 {
		return all, nil
	}
	return nil, worse(errs[0], errs[1])
}

// parallel runs fn(0) to fn(n-1), at most maxParallel at a time, and waits.
func parallel(n int, fn func(i int)) {
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}
