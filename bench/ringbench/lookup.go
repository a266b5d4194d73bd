package main

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/cloister-go/cloister/ring"
)

// lookupKeys is the key set every lookup benchmark cycles through: short
// keys such as routers and caches see, more than fit any L1 cache.
var lookupKeys = func() []string {
	keys := make([]string, 1<<14)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i*7919)
	}
	return keys
}()

const keyMask = 1<<14 - 1

// lookupBench returns a benchmark of one library's owner lookup with n
// nodes. Each calls the library's own API directly; opts apply to
// cloister only.
func lookupBench(name string, n int, opts ...ring.Option) func(*testing.B) {
	nodes := nodeNames(n)
	keys := lookupKeys
	switch name {
	case "cloister":
		r := newCloister(nodes, opts...)
		return func(b *testing.B) {
			b.ReportAllocs()
			var s string
			for i := 0; b.Loop(); i++ {
				m, err := r.OwnerString(keys[i&keyMask])
				if err != nil {
					b.Fatal(err)
				}
				s = m.ID
			}
			runtime.KeepAlive(s)
		}
	case "serialx":
		r := newSerialx(nodes)
		return func(b *testing.B) {
			b.ReportAllocs()
			var s string
			for i := 0; b.Loop(); i++ {
				s, _ = r.GetNode(keys[i&keyMask])
			}
			runtime.KeepAlive(s)
		}
	case "stathat":
		c := newStathat(nodes)
		return func(b *testing.B) {
			b.ReportAllocs()
			var s string
			for i := 0; b.Loop(); i++ {
				var err error
				s, err = c.Get(keys[i&keyMask])
				if err != nil {
					b.Fatal(err)
				}
			}
			runtime.KeepAlive(s)
		}
	case "groupcache":
		m := newGroupcache(nodes)
		return func(b *testing.B) {
			b.ReportAllocs()
			var s string
			for i := 0; b.Loop(); i++ {
				s = m.Get(keys[i&keyMask])
			}
			runtime.KeepAlive(s)
		}
	case "rendezvous":
		r := newRendezvous(nodes)
		return func(b *testing.B) {
			b.ReportAllocs()
			var s string
			for i := 0; b.Loop(); i++ {
				s = r.Lookup(keys[i&keyMask])
			}
			runtime.KeepAlive(s)
		}
	}
	panic("unknown library " + name)
}

var lookupNames = []string{"cloister", "serialx", "stathat", "groupcache", "rendezvous"}

var nodeCounts = []int{10, 100, 1000}
