package cloister

import (
	"maps"
	"sync"
	"sync/atomic"
)

// counters are the services' named counters (Host.Counter).
type counters struct {
	mu sync.Mutex
	m  map[string]*atomic.Uint64
}

// maxCounters bounds the counters services may create: past it, further
// names share one overflow counter.
const maxCounters = 1024

func (c *counters) get(name string) *atomic.Uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*atomic.Uint64{}
	}
	if v, ok := c.m[name]; ok {
		return v
	}
	if len(c.m) >= maxCounters {
		name = "overflow"
		if v, ok := c.m[name]; ok {
			return v
		}
	}
	v := new(atomic.Uint64)
	c.m[name] = v
	return v
}

// snapshot copies every counter's value.
func (c *counters) snapshot() map[string]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]uint64, len(c.m))
	for k, v := range maps.All(c.m) {
		out[k] = v.Load()
	}
	return out
}
