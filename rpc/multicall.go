package rpc

import (
	"context"
	"sync"
	"sync/atomic"
)

// Result is one peer's answer to a Multicall.
type Result struct {
	Peer Peer
	Body []byte
	Err  error
}

// Multicall calls name on every peer concurrently, with at most
// Config.MulticallConcurrency calls in progress, and returns one Result per
// peer in the order given, once every call has finished or failed. ctx
// bounds all of them; one peer's failure does not affect the others.
func (e *Endpoint) Multicall(ctx context.Context, peers []Peer, name string, req []byte) []Result {
	results := make([]Result, len(peers))
	var next atomic.Int64
	var wg sync.WaitGroup
	work := func() {
		defer wg.Done()
		for {
			i := int(next.Add(1) - 1)
			if i >= len(peers) {
				return
			}
			body, err := e.Call(ctx, peers[i], name, req)
			results[i] = Result{Peer: peers[i], Body: body, Err: err}
		}
	}
	workers := min(len(peers), e.cfg.MulticallConcurrency)
	wg.Add(workers)
	for range workers {
		go work()
	}
	wg.Wait()
	return results
}
