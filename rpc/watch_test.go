package rpc

import (
	"context"
	"fmt"
	"testing"
)

// waitsForLaterFrame makes b run, inline on the reader of a's connection, a
// handler that returns only once a later cast on the same connection has
// been handled: without the watchdog, nobody would read that cast.
func waitsForLaterFrame(t *testing.T, a, b *Endpoint, bp Peer) {
	t.Helper()
	started, later := make(chan struct{}), make(chan struct{})
	b.Handle("first", func(context.Context, Request) ([]byte, error) {
		close(started)
		<-later
		return []byte("done"), nil
	})
	b.Handle("later", func(context.Context, Request) ([]byte, error) {
		close(later)
		return nil, nil
	})
	done := make(chan error, 1)
	go func() {
		got, err := a.Call(testCtx(t), bp, "first", nil)
		if err == nil && string(got) != "done" {
			err = fmt.Errorf("got %q", got)
		}
		done <- err
	}()
	await(t, started, "the first handler")
	if err := a.Cast(context.Background(), bp, "later", nil); err != nil {
		t.Fatal(err)
	}
	if err := await(t, done, "the first call, which waits for the later cast"); err != nil {
		t.Fatal(err)
	}
}

func TestInlineHandlerLosesTheReader(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	b, bp := node(t, Config{})
	waitsForLaterFrame(t, a, b, bp)
	// The reader that took over serves the connection from then on.
	b.Handle("echo", echo)
	if got, err := a.Call(testCtx(t), bp, "echo", []byte("x")); err != nil || string(got) != "x" {
		t.Fatalf("after the take-over: %q, %v", got, err)
	}
}

// The watchdog sleeps once nothing has run inline for a while, and the next
// inline run wakes it.
func TestWatchdogSleepsAndWakes(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	b, bp := node(t, Config{})
	asleep := func() bool { return !b.watch.awake.Load() }
	for range 2 {
		waitsForLaterFrame(t, a, b, bp)
		waitFor(t, "the watchdog to sleep", asleep)
	}
}
