package cloister

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cloister-go/cloister/internal/core"
)

// BenchmarkPublicView measures the snapshot's conversion of the core's
// view after one batch of three adverts (a new member slice with three
// records replaced), at 100 and 1,000 members: "cached" is publicView,
// "fresh" a conversion of every member, as each batch did before
// viewCache reused entries.
func BenchmarkPublicView(b *testing.B) {
	for _, size := range []int{100, 1000} {
		rng := rand.New(rand.NewPCG(5, 6))
		members := testMembers(rng, size)
		batches := make([][]core.Member, 16)
		prev := members
		for i := range batches {
			ms := slices.Clone(prev)
			for range 3 {
				ms[rng.IntN(size)].Quorum.Accept++
			}
			batches[i], prev = ms, ms
		}
		b.Run(fmt.Sprintf("cached/N=%d", size), func(b *testing.B) {
			n := &Node{self: members[0]}
			n.publicView(core.View{ID: 1, Epoch: 1, Members: members}, Rehashing)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				n.publicView(core.View{ID: 1, Epoch: 1, Members: batches[i%len(batches)]}, Rehashing)
				i++
			}
		})
		b.Run(fmt.Sprintf("fresh/N=%d", size), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				freshView(members[0].ID, core.View{ID: 1, Epoch: 1, Members: batches[i%len(batches)]}, Rehashing)
				i++
			}
		})
	}
}
