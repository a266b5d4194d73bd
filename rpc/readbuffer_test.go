package rpc

import (
	"context"
	"testing"
)

// A connection over TLS reads through a buffer of one TLS record's size:
// crypto/tls hands out at most one record per read, so a larger buffer
// never fills and only holds memory for as long as the connection lives.
// A plain connection keeps the larger buffer, which a read can fill with
// many frames. Both ends of a call's connection are checked.
func TestReadBufferFitsTheConnection(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secure bool
		want   int
	}{{"tls", true, tlsReadBufferSize}, {"insecure", false, readBufferSize}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Insecure: !tc.secure}
			a, _ := node(t, cfg)
			srv, p := node(t, cfg)
			srv.Handle("echo", echo)
			if _, err := a.Call(context.Background(), p, "echo", []byte("x")); err != nil {
				t.Fatal(err)
			}
			for _, e := range []*Endpoint{a, srv} {
				sizes := readBufferSizes(e)
				if len(sizes) == 0 {
					t.Fatal("no connection")
				}
				for _, got := range sizes {
					if got != tc.want {
						t.Fatalf("read buffer %d bytes, want %d", got, tc.want)
					}
				}
			}
		})
	}
}

// readBufferSizes lists the read buffer sizes of e's connections.
func readBufferSizes(e *Endpoint) []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []int
	for c := range e.conns {
		out = append(out, c.br.Size())
	}
	return out
}
