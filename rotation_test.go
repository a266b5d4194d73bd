package cloister_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

// failures records members reported failed (not left or replaced).
type failures struct {
	mu   sync.Mutex
	seen []string
}

func (f *failures) OnStateChange(cloister.State, cloister.State, cloister.Snapshot) {}
func (f *failures) OnEvent(e cloister.Event) {
	if d, ok := e.(*cloister.MemberDown); ok && d.Reason.String() == "failed" {
		f.mu.Lock()
		f.seen = append(f.seen, d.Member.ID)
		f.mu.Unlock()
	}
}

// The documented rotation on a live 5-node cluster, one node restarted at
// a time with its new configuration for each of the three steps, while
// calls run between the nodes that are up: no member is reported failed,
// every restarted node rejoins, and no call fails.
func TestSecretRotationLive(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a 5-node cluster 15 times")
	}
	const n = 5
	old, next := cloistertest.Secret(), cloister.Secret("the-next-cluster-secret-0123456789")
	type keys struct {
		secret cloister.Secret
		accept []cloister.Secret
	}
	var (
		mu   sync.Mutex
		conf = make([]keys, n)
		down = &failures{}
	)
	for i := range conf {
		conf[i] = keys{secret: old}
	}
	c := cloistertest.New(t, n, cloistertest.WithConfig(func(i int, cfg *cloister.Config) {
		mu.Lock()
		defer mu.Unlock()
		cfg.Secret, cfg.AcceptSecrets = conf[i].secret, conf[i].accept
		cfg.Listeners = append(cfg.Listeners, down)
	}))
	echo := func(_ context.Context, _ cloister.Member, b []byte) ([]byte, error) { return b, nil }
	for _, nd := range c.Nodes() {
		if err := nd.Handle("echo", echo); err != nil {
			t.Fatal(err)
		}
	}

	// Callers: each call holds both ends' read locks; a restart holds
	// its node's write lock, so calls never involve a node being restarted
	// but do run between the others, old and new configurations mixed.
	locks := make([]sync.RWMutex, n)
	var (
		ok, failed atomic.Int64
		firstErr   atomic.Pointer[error]
		wg         sync.WaitGroup
	)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				a, b := rand.IntN(n), rand.IntN(n-1)
				if b >= a {
					b++
				}
				lo, hi := min(a, b), max(a, b)
				locks[lo].RLock()
				locks[hi].RLock()
				callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := c.Node(a).Call(callCtx, c.Node(b).Self(), "echo", []byte("rotating"))
				cancel()
				locks[hi].RUnlock()
				locks[lo].RUnlock()
				switch {
				case err == nil:
					ok.Add(1)
				case ctx.Err() == nil:
					failed.Add(1)
					firstErr.CompareAndSwap(nil, &err)
				}
			}
		}()
	}

	steps := []struct {
		name string
		keys keys
	}{
		{"1: accept the new secret", keys{old, []cloister.Secret{next}}},
		{"2: send with the new secret", keys{next, []cloister.Secret{old}}},
		{"3: drop the old secret", keys{next, nil}},
	}
	for _, step := range steps {
		for i := range n {
			locks[i].Lock()
			c.Stop(i)
			mu.Lock()
			conf[i] = step.keys
			mu.Unlock()
			nd := c.Restart(i)
			if err := nd.Handle("echo", echo); err != nil {
				t.Fatal(err)
			}
			locks[i].Unlock()
			c.WaitAllReady()
		}
		t.Logf("step %s: done, %d calls so far", step.name, ok.Load())
	}
	stop()
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		t.Errorf("%d of %d calls failed; first: %v", failed.Load(), failed.Load()+ok.Load(), *p)
	}
	if ok.Load() == 0 {
		t.Error("no call ran during the rotation")
	}
	down.mu.Lock()
	defer down.mu.Unlock()
	if len(down.seen) > 0 {
		t.Errorf("members reported failed during the rotation: %v", down.seen)
	}
	for i, nd := range c.Nodes() {
		if s := nd.Stats(); s.Gossip.StreamsAuthFailed+s.Gossip.PacketsAuthFailed+s.Gossip.JoinsAuthFailed > 0 || s.Calls.AuthFailures > 0 {
			t.Errorf("node %d saw authentication failures: %+v", i, s)
		}
	}
	t.Logf("%d calls during the rotation, none failed", ok.Load())
}
