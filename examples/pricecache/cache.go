package main

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/cloister-go/cloister"
)

// Price is one symbol's latest price. Version is a Lamport clock; Origin
// (the member that set it) breaks ties, so every node keeps the same
// winner whatever order updates arrive in.
type Price struct {
	Symbol  string  `json:"symbol"`
	Value   float64 `json:"value"`
	Version uint64  `json:"version"`
	Origin  string  `json:"origin"`
}

func (p Price) newer(q Price) bool {
	return p.Version > q.Version || (p.Version == q.Version && p.Origin > q.Origin)
}

// Handler names.
const (
	putName = "prices.put" // cast: merge these prices
	getName = "prices.get" // call: every price this node holds
)

// Cache is a price table replicated on every node: an update on any node is
// cast to every other member, and a node that sees a member come up pulls
// that member's prices (the seed's sync on :nodeup). Merges keep the newer
// version, so the table converges whatever the order.
type Cache struct {
	mu     sync.Mutex
	prices map[string]Price
	clock  uint64

	nodeSet chan struct{}
	node    *cloister.Node
}

// NewCache returns an empty cache. Add it to Config.Listeners before
// Launch, then call Attach with the node.
func NewCache() *Cache {
	return &Cache{prices: map[string]Price{}, nodeSet: make(chan struct{})}
}

// Attach registers the cache's handlers on the node.
func (c *Cache) Attach(n *cloister.Node) error {
	c.node = n
	close(c.nodeSet)
	if err := n.Handle(putName, func(_ context.Context, _ cloister.Member, body []byte) ([]byte, error) {
		var ps []Price
		if err := json.Unmarshal(body, &ps); err != nil {
			return nil, err
		}
		c.merge(ps)
		return nil, nil
	}); err != nil {
		return err
	}
	return n.Handle(getName, func(context.Context, cloister.Member, []byte) ([]byte, error) {
		return json.Marshal(c.All())
	})
}

// Update sets a price here and casts it to every other member, within ctx.
func (c *Cache) Update(ctx context.Context, symbol string, value float64) (Price, error) {
	c.mu.Lock()
	c.clock++
	p := Price{Symbol: symbol, Value: value, Version: c.clock, Origin: c.node.Self().ID}
	c.prices[symbol] = p
	c.mu.Unlock()
	body, _ := json.Marshal([]Price{p})
	return p, c.node.Multicast(ctx, putName, body)
}

// Get returns a symbol's price.
func (c *Cache) Get(symbol string) (Price, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.prices[symbol]
	return p, ok
}

// All returns every price, sorted by symbol.
func (c *Cache) All() []Price {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Price, 0, len(c.prices))
	for _, p := range c.prices {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Symbol < out[j].Symbol })
	return out
}

func (c *Cache) merge(ps []Price) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range ps {
		c.clock = max(c.clock, p.Version)
		if cur, ok := c.prices[p.Symbol]; !ok || p.newer(cur) {
			c.prices[p.Symbol] = p
		}
	}
}

// OnStateChange is unused; the cache listens to member events.
func (c *Cache) OnStateChange(cloister.State, cloister.State, cloister.Snapshot) {}

// OnEvent pulls the prices of every member that comes up. It runs on the
// cache's own listener goroutine, so a slow peer delays only the cache.
func (c *Cache) OnEvent(e cloister.Event) {
	up, ok := e.(*cloister.MemberUp)
	if !ok {
		return
	}
	<-c.nodeSet
	if up.Member.ID == c.node.Self().ID {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	body, err := c.node.Call(ctx, up.Member, getName, nil)
	if err != nil {
		return // it may not serve prices yet; it will pull ours when it sees us
	}
	var ps []Price
	if json.Unmarshal(body, &ps) == nil {
		c.merge(ps)
	}
}
