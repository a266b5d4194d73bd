package rpc

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"sync"
	"testing"
	"time"
)

// New must not build the secret-derived identity; the first connection
// builds it, once per endpoint, however many connections race to be first,
// dialled and accepted alike.
func TestIdentityBuiltOnFirstUse(t *testing.T) {
	noLeaks(t)
	hub, hp := node(t, Config{Secret: testSecret})
	hub.Handle("echo", echo)
	const n = 8
	peers := make([]*Endpoint, n)
	addrs := make([]Peer, n)
	for i := range peers {
		peers[i], addrs[i] = node(t, Config{Secret: testSecret})
		peers[i].Handle("echo", echo)
	}
	for _, e := range append([]*Endpoint{hub}, peers...) {
		if got := e.sec.builds.Load(); got != 0 {
			t.Fatalf("New built the identity %d times, want 0", got)
		}
	}
	// At once: the hub dials every peer and every peer dials the hub, so
	// the hub's first use is n dials and n accepted connections together.
	ctx := testCtx(t)
	start := make(chan struct{})
	errs := make(chan error, 2*n)
	var wg sync.WaitGroup
	for i := range peers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			_, err := hub.Call(ctx, addrs[i], "echo", []byte("out"))
			errs <- err
		}()
		go func() {
			defer wg.Done()
			<-start
			_, err := peers[i].Call(ctx, hp, "echo", []byte("in"))
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, e := range append([]*Endpoint{hub}, peers...) {
		if got := e.sec.builds.Load(); got != 1 {
			t.Errorf("endpoint %d built its identity %d times, want 1", i, got)
		}
	}
}

// Concurrent first users of one security all wait for the one build and get
// the same configuration.
func TestIdentityBuildConcurrentFirstUse(t *testing.T) {
	s := newSecurity(&Config{Secret: testSecret})
	s.build = func(secret []byte) (*tls.Config, error) {
		time.Sleep(10 * time.Millisecond) // let every caller arrive
		return secretTLS(secret)
	}
	const n = 32
	got := make([]*tls.Config, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c, err := s.config()
			if err != nil {
				t.Error(err)
			}
			got[i] = c
		}()
	}
	close(start)
	wg.Wait()
	if got[0] == nil {
		t.Fatal("no configuration")
	}
	for i, c := range got {
		if c != got[0] {
			t.Fatalf("caller %d got another configuration", i)
		}
	}
	if b := s.builds.Load(); b != 1 {
		t.Fatalf("%d builds, want 1", b)
	}
}

func TestNoIdentityBuildWithoutSecret(t *testing.T) {
	if c, err := newSecurity(&Config{Insecure: true}).config(); c != nil || err != nil {
		t.Fatalf("insecure: %v, %v; want no configuration", c, err)
	}
	user := &tls.Config{MinVersion: tls.VersionTLS13}
	s := newSecurity(&Config{TLS: user})
	c, err := s.config()
	if err != nil || c == nil || c == user || c.NextProtos[0] != alpn {
		t.Fatalf("TLS: %v, %v; want a clone with the ALPN", c, err)
	}
	if s.builds.Load() != 0 {
		t.Fatal("built an identity in TLS mode")
	}
}

// A failed build is an error for the caller that triggered it and for every
// later one, never a panic, and is not retried. The accepting side closes
// the connection, which its peer sees as ErrAuth.
func TestIdentityBuildFailure(t *testing.T) {
	noLeaks(t)
	boom := errors.New("boom")
	fail := func([]byte) (*tls.Config, error) { return nil, boom }

	s := newSecurity(&Config{Secret: testSecret})
	s.build = fail
	for range 3 {
		if _, err := s.config(); !errors.Is(err, boom) {
			t.Fatalf("config: %v, want boom", err)
		}
	}
	if b := s.builds.Load(); b != 1 {
		t.Fatalf("%d builds, want 1", b)
	}

	good, gp := node(t, Config{Secret: testSecret})
	good.Handle("echo", echo)
	bad, bp := node(t, Config{Secret: testSecret})
	bad.Handle("echo", echo)
	bad.sec.build = fail // before any connection: read by bad's first dial
	ctx := testCtx(t)
	for i := range 2 {
		_, err := bad.Call(ctx, gp, "echo", nil)
		if !errors.Is(err, boom) || errors.Is(err, ErrAuth) || errors.Is(err, ErrNodeDown) {
			t.Fatalf("call %d from the failed endpoint: %v, want boom alone", i, err)
		}
	}
	if err := bad.Cast(context.Background(), gp, "echo", nil); !errors.Is(err, boom) {
		t.Fatalf("cast from the failed endpoint: %v, want boom", err)
	}
	if _, err := good.Call(ctx, bp, "echo", nil); !errors.Is(err, ErrAuth) {
		t.Fatalf("call to the failed endpoint: %v, want ErrAuth", err)
	}
	if b := bad.sec.builds.Load(); b != 1 {
		t.Fatalf("%d builds, want 1", b)
	}
}

// The identity is built after New from a copy of the secret: a caller that
// wipes its slice once New returns changes nothing.
func TestSecretCopiedAtNew(t *testing.T) {
	noLeaks(t)
	secret := bytes.Clone(testSecret)
	a, _ := node(t, Config{Secret: secret})
	clear(secret)
	b, bp := node(t, Config{Secret: testSecret})
	b.Handle("echo", echo)
	if got, err := a.Call(testCtx(t), bp, "echo", []byte("ok")); err != nil || string(got) != "ok" {
		t.Fatalf("call after wiping the secret: %q, %v", got, err)
	}
}
