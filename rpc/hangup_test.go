package rpc

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/cloister-go/cloister/transport"
)

// A process killed while a dialler's handshake with it is under way has its
// kernel reset what it had accepted. Its dialler must see a peer gone away
// (ErrNodeDown, the request not sent), not an authentication failure: a
// watch that broke so was taken for another secret, and the kill was found
// only a retry later (docs/benchmarks.md).
func TestPeerEndingMidHandshakeIsNodeDown(t *testing.T) {
	for _, tc := range []struct {
		name    string
		secure  bool
		readAll bool // read what the dialler sent before closing: a FIN, not a reset
	}{
		{"secret, reset", true, false},
		{"secret, closed", true, true},
		{"insecure, reset", false, false},
		{"insecure, closed", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			peer := listen(t) // a transport with no endpoint behind it
			cfg := Config{}
			if !tc.secure {
				cfg.Insecure = true
			}
			caller, _ := node(t, cfg)
			accepted := make(chan error, 1)
			go func() {
				select {
				case nc := <-peer.Streams(transport.KindCall):
					// Wait for the dialler's first bytes (its
					// ClientHello or hello), then end as a killed
					// process does.
					_ = nc.SetReadDeadline(time.Now().Add(waitTimeout))
					buf := make([]byte, 1)
					_, err := io.ReadFull(nc, buf)
					if err == nil && tc.readAll {
						_ = nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
						_, _ = io.Copy(io.Discard, nc)
					}
					nc.Close()
					accepted <- err
				case <-time.After(waitTimeout):
					accepted <- errors.New("no connection accepted")
				}
			}()
			to := Peer{ID: "gone@" + peer.Addr().String(), Addr: peer.Addr()}
			_, err := caller.Call(testCtx(t), to, "echo", []byte("x"))
			if aerr := await(t, accepted, "the accepted connection"); aerr != nil {
				t.Fatal(aerr)
			}
			if !errors.Is(err, ErrNodeDown) || !errors.Is(err, ErrNotSent) || errors.Is(err, ErrAuth) {
				t.Fatalf("call to a peer that hung up mid-handshake: %v; want ErrNodeDown and ErrNotSent, not ErrAuth", err)
			}
		})
	}
}

// Endpoints in different security modes cannot talk, whichever side dials,
// and the acceptor says so before it closes the connection: the dialler
// gets ErrAuth, never ErrNodeDown (a peer gone away), and the acceptor
// counts a protocol error.
func TestSecurityModesDoNotMix(t *testing.T) {
	noLeaks(t)
	secure, sp := node(t, Config{Secret: testSecret})
	plain, pp := node(t, Config{Insecure: true})
	secure.Handle("echo", echo)
	plain.Handle("echo", echo)
	for _, tc := range []struct {
		name string
		from *Endpoint
		to   Peer
		at   *Endpoint
	}{
		{"insecure → secure", plain, sp, secure},
		{"secure → insecure", secure, pp, plain},
	} {
		before := tc.at.Stats().ProtocolErrors
		_, err := tc.from.Call(testCtx(t), tc.to, "echo", nil)
		if !errors.Is(err, ErrAuth) || errors.Is(err, ErrNodeDown) {
			t.Errorf("%s: %v; want ErrAuth and not ErrNodeDown", tc.name, err)
		}
		if got := tc.at.Stats().ProtocolErrors; got != before+1 {
			t.Errorf("%s: the acceptor counted %d protocol errors, want %d", tc.name, got, before+1)
		}
	}
}
