package registry_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
	"github.com/cloister-go/cloister/registry"
)

// cluster is a cloistertest cluster whose nodes each run a registry; a
// restarted node gets a new one.
type cluster struct {
	*cloistertest.Cluster
	t    *testing.T
	mu   sync.Mutex
	regs map[int]*registry.Registry
}

func newCluster(t *testing.T, n int, opts registryOpts, more ...cloistertest.Option) *cluster {
	t.Helper()
	c := &cluster{t: t, regs: map[int]*registry.Registry{}}
	base := []cloistertest.Option{
		cloistertest.WithMemNet(7),
		cloistertest.WithConfig(func(i int, cfg *cloister.Config) {
			o := registry.Options{}
			if opts != nil {
				o = opts(i)
			}
			r := registry.New(o)
			c.mu.Lock()
			c.regs[i] = r
			c.mu.Unlock()
			cfg.Services = append(cfg.Services, r)
			if quorum != nil {
				cfg.Quorum = *quorum
			}
		}),
	}
	c.Cluster = cloistertest.New(t, n, append(base, more...)...)
	return c
}

// registryOpts gives node i's registry options.
type registryOpts func(i int) registry.Options

// quorum, when set by a test before newCluster, is every node's policy.
var quorum *cloister.Quorum

// reg is node i's registry (its latest incarnation's).
func (c *cluster) reg(i int) *registry.Registry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.regs[i]
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// echo answers with the node's name and the body.
func echo(tag string) cloister.Handler {
	return func(_ context.Context, _ cloister.Member, body []byte) ([]byte, error) {
		return append([]byte(tag+":"), body...), nil
	}
}

// holderEverywhere reports whether every listed node sees name held by id
// ("" for nobody).
func (c *cluster) holderEverywhere(name, id string, nodes ...int) bool {
	for _, i := range nodes {
		reg, ok := c.reg(i).Lookup(name)
		if id == "" && ok || id != "" && (!ok || reg.Holder.ID != id) {
			return false
		}
	}
	return true
}
