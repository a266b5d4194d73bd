package rpc

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

func TestTooLargeRejectedBeforeSending(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{MaxMessageSize: 1 << 10})
	b, bp := node(t, Config{})
	b.Handle("echo", echo)
	big := make([]byte, 1<<10+1)
	if _, err := a.Call(testCtx(t), bp, "echo", big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("call: %v, want ErrTooLarge", err)
	}
	if err := a.Cast(context.Background(), bp, "echo", big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("cast: %v, want ErrTooLarge", err)
	}
	// Refused before anything was sent: not even a connection was opened.
	if n := a.Stats().Conns; n != 0 {
		t.Fatalf("%d connections opened for an oversized message", n)
	}
	// A message at the limit goes through.
	if got, err := a.Call(testCtx(t), bp, "echo", big[:1<<10]); err != nil || len(got) != 1<<10 {
		t.Fatalf("at the limit: %d bytes, %v", len(got), err)
	}
}

func TestTooLargeRequestRejectedByReceiver(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{MaxMessageSize: 1 << 20})
	b, bp := node(t, Config{MaxMessageSize: 64 << 10})
	ran := make(chan struct{}, 1)
	b.Handle("echo", func(_ context.Context, r Request) ([]byte, error) {
		if len(r.Body) > 64<<10 {
			ran <- struct{}{}
		}
		return r.Body, nil
	})
	if _, err := a.Call(testCtx(t), bp, "echo", make([]byte, 256<<10)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized request: %v, want ErrTooLarge", err)
	}
	if n := b.Stats().TooLarge; n != 1 {
		t.Fatalf("receiver TooLarge = %d, want 1", n)
	}
	// The payload was skipped and the connection goes on.
	if got, err := a.Call(testCtx(t), bp, "echo", []byte("small")); err != nil || string(got) != "small" {
		t.Fatalf("after an oversized request: %q, %v", got, err)
	}
	if n := a.Stats().Conns; n != 1 {
		t.Fatalf("%d connections, want the first one still", n)
	}
	select {
	case <-ran:
		t.Fatal("handler ran with an oversized body")
	default:
	}
}

func TestTooLargeReplyRejectedByCaller(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{MaxMessageSize: 64 << 10})
	b, bp := node(t, Config{MaxMessageSize: 1 << 20})
	b.Handle("big", func(context.Context, Request) ([]byte, error) { return make([]byte, 256<<10), nil })
	b.Handle("echo", echo)
	if _, err := a.Call(testCtx(t), bp, "big", nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized reply: %v, want ErrTooLarge", err)
	}
	if got, err := a.Call(testCtx(t), bp, "echo", []byte("small")); err != nil || string(got) != "small" {
		t.Fatalf("after an oversized reply: %q, %v", got, err)
	}
}

func TestTooLargeReplyRejectedBySender(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	b, bp := node(t, Config{MaxMessageSize: 1 << 10})
	b.Handle("big", func(context.Context, Request) ([]byte, error) { return make([]byte, 1<<10+1), nil })
	if _, err := a.Call(testCtx(t), bp, "big", nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized reply: %v, want ErrTooLarge", err)
	}
}

// blocker registers a handler that signals its start and blocks until
// release is closed or its context ends.
func blocker(e *Endpoint, name string) (started chan struct{}, release chan struct{}) {
	started, release = make(chan struct{}, 16), make(chan struct{})
	e.Handle(name, func(ctx context.Context, r Request) ([]byte, error) {
		started <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return r.Body, nil
	})
	return started, release
}

// occupy starts n calls that block in the handler and waits until they run.
func occupy(t *testing.T, from *Endpoint, to Peer, started chan struct{}, n int) <-chan error {
	t.Helper()
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := from.Call(testCtx(t), to, "block", nil)
			errs <- err
		}()
	}
	for range n {
		await(t, started, "handler start")
	}
	return errs
}

func TestServerBoundsHandlersPerConnection(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	b, bp := node(t, Config{MaxInFlightPerConn: 2})
	started, release := blocker(b, "block")
	errs := occupy(t, a, bp, started, 2)
	if _, err := a.Call(testCtx(t), bp, "block", nil); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("third call: %v, want ErrOverloaded", err)
	}
	// Casts beyond the bound are dropped and counted. (Cast returns once
	// the cast is queued; it may leave later.)
	if err := a.Cast(context.Background(), bp, "block", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the cast to be dropped", func() bool { return b.Stats().DroppedCasts == 1 })
	// Another connection has its own bound.
	c, _ := node(t, Config{})
	more := occupy(t, c, bp, started, 1)
	close(release)
	for range 2 {
		if err := await(t, errs, "blocked call"); err != nil {
			t.Fatal(err)
		}
	}
	if err := await(t, more, "blocked call"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Call(testCtx(t), bp, "block", nil); err != nil {
		t.Fatalf("after release: %v", err)
	}
	if s := b.Stats(); s.Overloaded != 2 || s.DroppedCasts != 1 {
		t.Fatalf("Overloaded %d, DroppedCasts %d", s.Overloaded, s.DroppedCasts)
	}
}

func TestServerBoundsHandlersInTotal(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	c, _ := node(t, Config{})
	b, bp := node(t, Config{MaxInFlight: 2})
	started, release := blocker(b, "block")
	errs := occupy(t, a, bp, started, 2)
	if _, err := c.Call(testCtx(t), bp, "block", nil); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("call from another peer: %v, want ErrOverloaded", err)
	}
	close(release)
	for range 2 {
		if err := await(t, errs, "blocked call"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCallerBoundsPendingCalls(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{MaxPendingPerConn: 2})
	b, bp := node(t, Config{})
	started, release := blocker(b, "block")
	errs := occupy(t, a, bp, started, 2)
	if _, err := a.Call(testCtx(t), bp, "block", nil); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("third pending call: %v, want ErrOverloaded", err)
	}
	if n := b.Stats().Overloaded; n != 0 {
		t.Fatalf("the refused call reached the server (Overloaded %d)", n)
	}
	close(release)
	for range 2 {
		if err := await(t, errs, "blocked call"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLargeMessagesRoundTrip(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	b, bp := node(t, Config{})
	b.Handle("echo", echo)
	big := make([]byte, DefaultMaxMessageSize)
	for i := range big {
		big[i] = byte(i * 7)
	}
	// Several at once, so that the send queue passes its high-water mark.
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			got, err := a.Call(testCtx(t), bp, "echo", big)
			if err == nil && !bytes.Equal(got, big) {
				err = errors.New("reply differs from request")
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := await(t, errs, "large call"); err != nil {
			t.Fatal(err)
		}
	}
}
