package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

// fleet gives every node the harness starts its own Cache, by index.
type fleet struct {
	mu      sync.Mutex
	byIndex map[int]*Cache
}

func newFleet() *fleet { return &fleet{byIndex: map[int]*Cache{}} }

func (f *fleet) option() cloistertest.Option {
	return cloistertest.WithConfig(func(i int, cfg *cloister.Config) {
		c := NewCache()
		cfg.Listeners = append(cfg.Listeners, c)
		f.mu.Lock()
		f.byIndex[i] = c
		f.mu.Unlock()
	})
}

// attach registers node i's cache handlers and returns the cache.
func (f *fleet) attach(t *testing.T, c *cloistertest.Cluster, i int) *Cache {
	t.Helper()
	f.mu.Lock()
	cache := f.byIndex[i]
	f.mu.Unlock()
	if err := cache.Attach(c.Node(i)); err != nil {
		t.Fatal(err)
	}
	return cache
}

func TestUpdatesReachEveryNodeAndJoinersCatchUp(t *testing.T) {
	f := newFleet()
	c := cloistertest.New(t, 3, f.option())
	all := []*Cache{f.attach(t, c, 0), f.attach(t, c, 1), f.attach(t, c, 2)}

	if _, err := all[0].Update(context.Background(), "BTCUSD", 67543.21); err != nil {
		t.Fatal(err)
	}
	if _, err := all[2].Update(context.Background(), "ETHUSD", 3120.5); err != nil {
		t.Fatal(err)
	}
	c.WaitFor("every node has both prices", func() bool {
		for _, cache := range all {
			b, ok1 := cache.Get("BTCUSD")
			e, ok2 := cache.Get("ETHUSD")
			if !ok1 || !ok2 || b.Value != 67543.21 || e.Value != 3120.5 {
				return false
			}
		}
		return true
	})

	// Concurrent updates of one symbol converge to one winner everywhere.
	all[0].Update(context.Background(), "BTCUSD", 1)
	all[1].Update(context.Background(), "BTCUSD", 2)
	c.WaitFor("one BTCUSD everywhere", func() bool {
		p0, _ := all[0].Get("BTCUSD")
		for _, cache := range all[1:] {
			if p, _ := cache.Get("BTCUSD"); p != p0 {
				return false
			}
		}
		return p0.Value == 1 || p0.Value == 2
	})

	// A node that joins receives the current prices.
	idx := c.Add()
	joiner := f.attach(t, c, idx)
	c.WaitAllReady()
	c.WaitFor("the joiner has the prices", func() bool {
		want, _ := all[0].Get("BTCUSD")
		got, ok := joiner.Get("BTCUSD")
		_, eth := joiner.Get("ETHUSD")
		return ok && eth && got == want
	})
}

func TestHTTP(t *testing.T) {
	f := newFleet()
	c := cloistertest.New(t, 1, f.option())
	cache := f.attach(t, c, 0)
	srv := httptest.NewServer(handler(cache))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/prices?symbol=X&value=1.5", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Post(srv.URL+"/prices?symbol=X&value=abc", "", nil)
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("bad POST: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get(srv.URL + "/prices")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"symbol":"X","value":1.5`) {
		t.Fatalf("GET /prices = %s", body)
	}
}
