package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/cloister-go/cloister/rpc"
	"github.com/cloister-go/cloister/transport"
)

// target is one system under test: a server and a client on loopback.
type target interface {
	// caller returns a function that makes one round trip. Each calling
	// goroutine gets its own, so a target without multiplexing can give
	// each its own connection.
	caller() (func(msg []byte) error, error)
	close()
}

// cloisterTarget is two rpc endpoints on their own transports, one calling
// the other's echo handler over the one connection between them.
type cloisterTarget struct {
	trs    []*transport.Net
	client *rpc.Endpoint
	server *rpc.Endpoint
	peer   rpc.Peer
	ctx    context.Context
}

func newCloister(secure bool) (target, error) {
	t := &cloisterTarget{ctx: context.Background()}
	var eps []*rpc.Endpoint
	for i := range 2 {
		tr, err := transport.Listen(transport.NetConfig{Bind: "127.0.0.1:0"})
		if err != nil {
			return nil, err
		}
		t.trs = append(t.trs, tr)
		cfg := rpc.Config{ID: fmt.Sprintf("bench%d#1", i), Transport: tr}
		if secure {
			cfg.Secret = []byte("rpcbench cluster secret, 32 bytes")
		} else {
			cfg.Insecure = true
		}
		e, err := rpc.New(cfg)
		if err != nil {
			return nil, err
		}
		eps = append(eps, e)
	}
	t.client, t.server = eps[0], eps[1]
	t.peer = rpc.Peer{ID: "bench1#1", Addr: t.trs[1].Addr()}
	t.server.Handle("echo", func(_ context.Context, r rpc.Request) ([]byte, error) { return r.Body, nil })
	return t, nil
}

func (t *cloisterTarget) caller() (func([]byte) error, error) {
	return func(msg []byte) error {
		out, err := t.client.Call(t.ctx, t.peer, "echo", msg)
		if err == nil && len(out) != len(msg) {
			err = fmt.Errorf("echo of %d bytes returned %d", len(msg), len(out))
		}
		return err
	}, nil
}

func (t *cloisterTarget) close() {
	t.client.Close()
	t.server.Close()
	for _, tr := range t.trs {
		tr.Close()
	}
}

// rawTarget is a length-prefixed TCP echo: every caller has its own
// connection and the server one goroutine per connection, reading a
// 4-byte length and the payload and writing both back in one write. No
// multiplexing, no framing beyond the length, no security: the floor a
// round trip through the kernel's loopback costs.
type rawTarget struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

func newRaw() (target, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &rawTarget{ln: ln}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.track(c)
			t.wg.Add(1)
			go func() {
				defer t.wg.Done()
				serveRaw(c)
			}()
		}
	}()
	return t, nil
}

func serveRaw(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 4+64<<10)
	for {
		if _, err := io.ReadFull(c, buf[:4]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(buf[:4]))
		if n > len(buf)-4 {
			return
		}
		if _, err := io.ReadFull(c, buf[4:4+n]); err != nil {
			return
		}
		if _, err := c.Write(buf[:4+n]); err != nil {
			return
		}
	}
}

func (t *rawTarget) track(c net.Conn) {
	t.mu.Lock()
	t.conns = append(t.conns, c)
	t.mu.Unlock()
}

func (t *rawTarget) caller() (func([]byte) error, error) {
	c, err := net.DialTimeout("tcp", t.ln.Addr().String(), 5*time.Second)
	if err != nil {
		return nil, err
	}
	t.track(c)
	out := make([]byte, 4+64<<10)
	in := make([]byte, 4+64<<10)
	return func(msg []byte) error {
		binary.BigEndian.PutUint32(out, uint32(len(msg)))
		copy(out[4:], msg)
		if _, err := c.Write(out[:4+len(msg)]); err != nil {
			return err
		}
		if _, err := io.ReadFull(c, in[:4+len(msg)]); err != nil {
			return err
		}
		return nil
	}, nil
}

func (t *rawTarget) close() {
	t.ln.Close()
	t.mu.Lock()
	for _, c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
}
