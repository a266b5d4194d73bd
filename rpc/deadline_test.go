package rpc

import (
	"context"
	"errors"
	"testing"
	"time"
)

// observed is what a handler saw of its context.
type observed struct {
	hadDeadline bool
	err         error
}

// watcher registers a handler that reports when it starts and, once its
// context is done, what it saw.
func watcher(e *Endpoint, name string) (started chan struct{}, seen chan observed) {
	started, seen = make(chan struct{}, 1), make(chan observed, 1)
	e.Handle(name, func(ctx context.Context, _ Request) ([]byte, error) {
		started <- struct{}{}
		<-ctx.Done()
		_, ok := ctx.Deadline()
		seen <- observed{ok, ctx.Err()}
		return nil, ctx.Err()
	})
	return started, seen
}

func TestDeadlineReachesHandler(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	b, bp := node(t, Config{})
	_, seen := watcher(b, "wait")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := a.Call(ctx, bp, "wait", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("caller: %v, want DeadlineExceeded", err)
	}
	o := await(t, seen, "handler to see its deadline")
	if !o.hadDeadline || !errors.Is(o.err, context.DeadlineExceeded) {
		t.Fatalf("handler saw deadline=%v err=%v, want a deadline and DeadlineExceeded", o.hadDeadline, o.err)
	}
}

func TestCancelReachesHandler(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	b, bp := node(t, Config{})
	started, seen := watcher(b, "wait")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := a.Call(ctx, bp, "wait", nil)
		done <- err
	}()
	await(t, started, "handler start")
	cancel()
	if err := await(t, done, "call to return"); !errors.Is(err, context.Canceled) {
		t.Fatalf("caller: %v, want Canceled", err)
	}
	o := await(t, seen, "handler to see the cancel")
	if o.hadDeadline || !errors.Is(o.err, context.Canceled) {
		t.Fatalf("handler saw deadline=%v err=%v, want no deadline and Canceled", o.hadDeadline, o.err)
	}
}

func TestExpiredContextIsNotSent(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	b, bp := node(t, Config{})
	started, _ := watcher(b, "wait")
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := a.Call(ctx, bp, "wait", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	// The same connection still serves, and the expired call never ran.
	b.Handle("echo", echo)
	if _, err := a.Call(testCtx(t), bp, "echo", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
		t.Fatal("handler ran for an expired call")
	default:
	}
}
