package main

import (
	"fmt"
	"strconv"

	"github.com/cespare/xxhash/v2"
	"github.com/cloister-go/cloister/ring"
	rendezvous "github.com/dgryski/go-rendezvous"
	"github.com/golang/groupcache/consistenthash"
	"github.com/serialx/hashring"
	"github.com/stathat/consistent"
)

// Natural configurations of the peers: what their documentation or their
// own defaults use, so that each is measured as people deploy it.
const (
	// stathat/consistent: New() sets NumberOfReplicas = 20.
	stathatReplicas = 20
	// groupcache: HTTPPool uses consistenthash.New(defaultReplicas=50,
	// crc32.ChecksumIEEE).
	groupcacheReplicas = 50
	// serialx/hashring: New(nodes) puts one ring point per node (weight
	// 1); its README shows exactly that. NewWithWeights would add points.
	// go-rendezvous needs a hash function; go-redis, its main user, passes
	// xxhash.Sum64String, the fastest choice available to it.
)

// lib is one library under test. build returns an owner lookup; it is used
// for balance, movement and rebuild measurements, where the indirection
// does not matter. Lookup speed is measured by lookupBench, which calls
// each library directly.
type lib struct {
	name   string
	config string
	build  func(nodes []string) func(key string) string
	// ringOpts is non-nil for cloister configurations.
	ringOpts []ring.Option
}

func nodeNames(n int) []string {
	nodes := make([]string, n)
	for i := range nodes {
		nodes[i] = "node-" + strconv.Itoa(i)
	}
	return nodes
}

func members(nodes []string) []ring.Member {
	ms := make([]ring.Member, len(nodes))
	for i, id := range nodes {
		ms[i] = ring.Member{ID: id}
	}
	return ms
}

func newCloister(nodes []string, opts ...ring.Option) *ring.Ring {
	r, err := ring.New(members(nodes), opts...)
	if err != nil {
		panic(err)
	}
	return r
}

func newSerialx(nodes []string) *hashring.HashRing {
	return hashring.New(nodes)
}

func newStathat(nodes []string) *consistent.Consistent {
	c := consistent.New()
	c.NumberOfReplicas = stathatReplicas
	c.Set(nodes)
	return c
}

func newGroupcache(nodes []string) *consistenthash.Map {
	m := consistenthash.New(groupcacheReplicas, nil)
	m.Add(nodes...)
	return m
}

func newRendezvous(nodes []string) *rendezvous.Rendezvous {
	return rendezvous.New(nodes, xxhash.Sum64String)
}

func cloisterLib(name, config string, opts ...ring.Option) lib {
	return lib{name, config, func(nodes []string) func(string) string {
		r := newCloister(nodes, opts...)
		return func(k string) string {
			m, err := r.OwnerString(k)
			if err != nil {
				panic(err)
			}
			return m.ID
		}
	}, append([]ring.Option{}, opts...)}
}

var libs = []lib{
	cloisterLib("cloister", fmt.Sprintf("%d slots, %d points per unit weight", ring.DefaultSlots, ring.PointsPerWeight)),
	{"serialx", "hashring.New: 1 point per node, md5", func(nodes []string) func(string) string {
		r := newSerialx(nodes)
		return func(k string) string {
			n, ok := r.GetNode(k)
			if !ok {
				panic("serialx: empty")
			}
			return n
		}
	}, nil},
	{"stathat", fmt.Sprintf("%d replicas (its default), crc32", stathatReplicas), func(nodes []string) func(string) string {
		c := newStathat(nodes)
		return func(k string) string {
			n, err := c.Get(k)
			if err != nil {
				panic(err)
			}
			return n
		}
	}, nil},
	{"groupcache", fmt.Sprintf("%d replicas (HTTPPool default), crc32", groupcacheReplicas), func(nodes []string) func(string) string {
		m := newGroupcache(nodes)
		return m.Get
	}, nil},
	{"rendezvous", "xxhash.Sum64String (as go-redis)", func(nodes []string) func(string) string {
		return newRendezvous(nodes).Lookup
	}, nil},
}

// boundedLibs are the bounded-load configurations reported beside the
// plain ones.
var boundedLibs = []lib{
	cloisterLib("cloister bounded ε=0.02", "WithBoundedLoad(0.02)", ring.WithBoundedLoad(0.02)),
	cloisterLib("cloister bounded ε=0.05", "WithBoundedLoad(0.05)", ring.WithBoundedLoad(0.05)),
}
