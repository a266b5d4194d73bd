package cloister_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

// silentPeer accepts TCP connections and never answers: a member whose
// handshake hangs.
func silentPeer(t *testing.T) cloister.Member {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	addr := netip.MustParseAddrPort(l.Addr().String())
	name := "cloistertest@" + addr.String()
	return cloister.Member{ID: name + "#1", Name: name, Addr: addr}
}

// Issue #12, item 5: Multicast casts concurrently and within ctx, so a
// member that never answers delays neither the others nor the caller
// beyond ctx.
func TestMulticastUnreachableDelaysNobody(t *testing.T) {
	c := cloistertest.New(t, 2)
	a, b := c.Node(0), c.Node(1)
	got := make(chan time.Time, 1)
	b.Handle("note", func(context.Context, cloister.Member, []byte) ([]byte, error) {
		got <- time.Now()
		return nil, nil
	})
	stuck := silentPeer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := a.Multicast(ctx, "note", []byte("x"), stuck, b.Self())
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), stuck.Name) {
		t.Errorf("Multicast = %v, want an error naming %s", err, stuck.Name)
	}
	if took > 2*time.Second {
		t.Errorf("Multicast took %v with a 500 ms context", took)
	}
	select {
	case at := <-got:
		if d := at.Sub(start); d > 400*time.Millisecond {
			t.Errorf("the reachable member got the cast after %v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reachable member never got the cast")
	}
	// Cast alone honours ctx too.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	start = time.Now()
	if err := a.Cast(ctx2, stuck, "note", nil); err == nil {
		t.Error("Cast to a silent member succeeded")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Cast took %v with a 200 ms context", took)
	}
}
