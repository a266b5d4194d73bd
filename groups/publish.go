package groups

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/internal/wire"
)

// publishConcurrency bounds the nodes a Publish casts to at once.
const publishConcurrency = 32

// Publish sends msg to every member of group on every node: one cast per
// node, which hands it to each of its members' handlers. It returns nil
// when every cast was queued, else the errors of the nodes it could not
// reach, joined.
func (g *Groups) Publish(ctx context.Context, group string, msg []byte) error {
	if !g.started.Load() {
		return ErrNotStarted
	}
	nodes := map[string]cloister.Member{}
	for _, m := range g.Members(group) {
		nodes[m.Node.ID] = m.Node
	}
	body := wire.AppendString(nil, group)
	body = append(body, msg...)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, publishConcurrency)
	)
	for id, n := range nodes {
		if id == g.self.ID {
			g.deliver(group, msg)
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := g.host.Cast(ctx, n, "groups.publish", body); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", n.Name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// PublishLocal hands msg to every member of group on this node only.
// It returns how many members it reached (0 before the node starts).
func (g *Groups) PublishLocal(group string, msg []byte) int {
	if !g.started.Load() {
		return 0
	}
	return g.deliver(group, msg)
}

// deliver runs each local member's handler on msg, on goroutines that end
// with the handlers (their context ends when the node stops), and returns
// how many it started.
func (g *Groups) deliver(group string, msg []byte) int {
	g.hmu.RLock()
	hs := make([]cloister.Handler, 0, len(g.handlers[group]))
	for _, h := range g.handlers[group] {
		hs = append(hs, h)
	}
	g.hmu.RUnlock()
	for _, h := range hs {
		go func() { _, _ = h(g.ctx, g.self, msg) }()
	}
	return len(hs)
}

func (g *Groups) handlePublish(_ context.Context, _ cloister.Member, body []byte) ([]byte, error) {
	r := wire.NewReader(body)
	group := r.String(MaxName)
	msg := r.Rest()
	if err := r.Err(); err != nil {
		return nil, err
	}
	g.deliver(group, msg)
	return nil, nil
}
