package cloister_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cloister-go/cloister/cloistertest"
)

// TestQuorumSafetyOnTheInMemoryNetwork runs five real nodes through random
// partitions, one-way blocks, isolations, pauses (as under SIGSTOP) and
// packet loss, inspecting every node's snapshot every couple of
// milliseconds: two Ready nodes never hold disjoint views, no term is held
// on two views, no term goes back. After the last fault is healed, every
// node is Ready on one view and one term. CLOISTER_PROPERTY_SEEDS runs more
// seeds (default 2).
func TestQuorumSafetyOnTheInMemoryNetwork(t *testing.T) {
	seeds := 2
	if n, err := strconv.Atoi(os.Getenv("CLOISTER_PROPERTY_SEEDS")); err == nil && n > 0 {
		seeds = n
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 11))
			c := cloistertest.New(t, 5, cloistertest.WithMemNet(seed), cloistertest.WithConsensus(3))
			check := safetyChecker(t, c)
			paused := map[int]bool{}
			var log []string
			for range 12 {
				log = append(log, randomFault(c, rng, paused))
				hold := time.Duration(100+rng.IntN(900)) * time.Millisecond
				for end := time.Now().Add(hold); time.Now().Before(end); {
					check()
					time.Sleep(2 * time.Millisecond) // sampling states over the fault's window
				}
			}
			c.Heal() // also ends the pauses
			c.SentryDown(false)
			took := c.WaitFor(fmt.Sprintf("one cluster after the faults %v", log), func() bool {
				check()
				return c.Agreed()
			})
			t.Logf("faults %v; one view and one term %v after the heal", log, took)
		})
	}
}

// randomFault applies one random fault to the cluster and says which.
func randomFault(c *cloistertest.Cluster, rng *rand.Rand, paused map[int]bool) string {
	n := c.Len()
	i, j := rng.IntN(n), rng.IntN(n)
	switch rng.IntN(8) {
	case 0, 1:
		k := 2 + rng.IntN(2)
		groups := make([][]int, k)
		for x := range n {
			g := rng.IntN(k)
			groups[g] = append(groups[g], x)
		}
		c.Partition(groups...)
		return fmt.Sprintf("partition %v", groups)
	case 2:
		c.Heal()
		clear(paused)
		return "heal"
	case 3:
		c.Isolate(i)
		return fmt.Sprintf("isolate %d", i)
	case 4:
		if i == j {
			return "none"
		}
		c.Block(i, j)
		return fmt.Sprintf("block %d->%d", i, j)
	case 5:
		c.Loss(i, 0.3)
		return fmt.Sprintf("loss 30%% at %d", i)
	case 6:
		if paused[i] {
			c.Unpause(i)
			delete(paused, i)
			return fmt.Sprintf("unpause %d", i)
		}
		c.Pause(i)
		paused[i] = true
		return fmt.Sprintf("pause %d", i)
	default:
		c.SentryDown(rng.IntN(2) == 0)
		return "sentry flips"
	}
}
