package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"

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

// Cache is a price table replicated on every node: a cluster service on
// cloister's gossip channel. An update on any node is broadcast to every
// member; a node that joins receives the whole table in its first state
// exchange (the seed's sync on :nodeup), and the periodic exchanges repair
// any broadcast a member missed. Merges keep the newer version, so the
// table converges whatever the order. Attach it with Config.Services.
type Cache struct {
	mu     sync.Mutex
	prices map[string]Price
	clock  uint64

	host      cloister.Host
	broadcast func([]byte) error
}

// NewCache returns an empty cache, to add to Config.Services.
func NewCache() *Cache { return &Cache{prices: map[string]Price{}} }

// Name names the service.
func (c *Cache) Name() string { return "prices" }

// Start opens the cache's gossip channel; the node calls it before it
// joins anyone.
func (c *Cache) Start(h cloister.Host) error {
	broadcast, err := h.Gossip(c)
	if err != nil {
		return err
	}
	c.host, c.broadcast = h, broadcast
	return nil
}

// Update sets a price here and broadcasts it to every other member.
func (c *Cache) Update(symbol string, value float64) (Price, error) {
	c.mu.Lock()
	c.clock++
	p := Price{Symbol: symbol, Value: value, Version: c.clock, Origin: c.host.Self().ID}
	c.prices[symbol] = p
	c.mu.Unlock()
	body, err := json.Marshal([]Price{p})
	if err != nil {
		return p, err
	}
	if err := c.broadcast(body); err != nil {
		return p, fmt.Errorf("price set here, not broadcast: %w", err)
	}
	return p, nil
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

// Merge applies a broadcast or a peer's whole table (cloister.GossipState).
func (c *Cache) Merge(data []byte) {
	var ps []Price
	if json.Unmarshal(data, &ps) != nil {
		return // not ours to trust; the next exchange brings the table again
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range ps {
		c.clock = max(c.clock, p.Version)
		if cur, ok := c.prices[p.Symbol]; !ok || p.newer(cur) {
			c.prices[p.Symbol] = p
		}
	}
}

// Full is the whole table, for a state exchange (cloister.GossipState).
func (c *Cache) Full() []byte {
	b, _ := json.Marshal(c.All())
	return b
}
