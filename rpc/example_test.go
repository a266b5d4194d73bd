package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloister-go/cloister/rpc"
	"github.com/cloister-go/cloister/transport"
)

// Two endpoints on loopback, secured by a shared secret, call each other:
// each over the connection it opened with its first call, so there are two.
func Example() {
	secret := []byte("example secret: use 32 random bytes")
	start := func(id string) (*rpc.Endpoint, rpc.Peer, func()) {
		tr, err := transport.Listen(transport.NetConfig{Bind: "127.0.0.1:0"})
		if err != nil {
			panic(err)
		}
		e, err := rpc.New(rpc.Config{ID: id, Transport: tr, Secret: secret})
		if err != nil {
			panic(err)
		}
		return e, rpc.Peer{ID: id, Addr: tr.Addr()}, func() { e.Close(); tr.Close() }
	}
	a, ap, stopA := start("a#1")
	defer stopA()
	b, bp, stopB := start("b#1")
	defer stopB()

	greet := func(_ context.Context, r rpc.Request) ([]byte, error) {
		return []byte("hello " + string(r.Body) + ", from the handler for " + r.From), nil
	}
	a.Handle("greet", greet)
	b.Handle("greet", greet)
	type Sum struct{ A, B int }
	rpc.HandleTyped(b, "add", rpc.JSON, func(_ context.Context, _ string, s Sum) (int, error) {
		if s.A < 0 {
			return 0, errors.New("negative")
		}
		return s.A + s.B, nil
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reply, err := a.Call(ctx, bp, "greet", []byte("b"))
	fmt.Println(string(reply), err)
	reply, err = b.Call(ctx, ap, "greet", []byte("a"))
	fmt.Println(string(reply), err)
	sum, err := rpc.CallTyped[Sum, int](ctx, a, bp, "add", Sum{2, 3}, rpc.JSON)
	fmt.Println(sum, err)
	_, err = rpc.CallTyped[Sum, int](ctx, a, bp, "add", Sum{-1, 3}, rpc.JSON)
	var remote *rpc.RemoteError
	fmt.Println(errors.As(err, &remote), remote.Node, remote.Message)
	_, err = a.Call(ctx, bp, "missing", nil)
	fmt.Println(errors.Is(err, rpc.ErrNoHandler))
	fmt.Println(a.Stats().Conns, b.Stats().Conns)
	// Output:
	// hello b, from the handler for a#1 <nil>
	// hello a, from the handler for b#1 <nil>
	// 5 <nil>
	// true b#1 negative
	// true
	// 2 2
}
