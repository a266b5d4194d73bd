package cloister_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

func echo(c *cloistertest.Cluster, i int) {
	c.Node(i).Handle("echo", func(ctx context.Context, from cloister.Member, body []byte) ([]byte, error) {
		return append([]byte(c.Node(i).Self().Name+" heard "+from.Name+": "), body...), nil
	})
}

func TestCallCastMulticall(t *testing.T) {
	c := cloistertest.New(t, 3)
	for i := range 3 {
		echo(c, i)
	}
	a, b := c.Node(0), c.Node(1)
	reply, err := a.Call(context.Background(), b.Self(), "echo", []byte("hi"))
	if err != nil || string(reply) != b.Self().Name+" heard "+a.Self().Name+": hi" {
		t.Fatalf("Call = %q, %v", reply, err)
	}

	got := make(chan string, 3)
	for i := range 3 {
		c.Node(i).Handle("note", func(ctx context.Context, from cloister.Member, body []byte) ([]byte, error) {
			got <- c.Node(i).Self().Name + "<-" + string(body)
			return nil, nil
		})
	}
	if err := a.Multicast(context.Background(), "note", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case s := <-got:
			if strings.HasPrefix(s, a.Self().Name) {
				t.Fatalf("Multicast reached its sender: %s", s)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("multicast not delivered")
		}
	}

	replies := a.Multicall(context.Background(), "echo", []byte("all"))
	if len(replies) != 2 {
		t.Fatalf("Multicall answered %d members, want the 2 others", len(replies))
	}
	for _, r := range replies {
		if r.Err != nil || !bytes.HasPrefix(r.Body, []byte(r.Member.Name)) {
			t.Fatalf("reply from %s: %q, %v", r.Member.Name, r.Body, r.Err)
		}
	}
	// A member without the handler is a bad node, not a failure of the rest.
	c.Node(2).Handle("echo", nil)
	replies = a.Multicall(context.Background(), "echo", nil, b.Self(), c.Node(2).Self())
	if replies[0].Err != nil || !errors.Is(replies[1].Err, cloister.ErrNoHandler) {
		t.Fatalf("replies %v / %v, want ok and ErrNoHandler", replies[0].Err, replies[1].Err)
	}
}

func TestHandlerErrorsAndBadInput(t *testing.T) {
	c := cloistertest.New(t, 2, cloistertest.WithConfig(func(i int, cfg *cloister.Config) { cfg.MaxMessageSize = 1024 }))
	a, b := c.Node(0), c.Node(1)
	b.Handle("fail", func(context.Context, cloister.Member, []byte) ([]byte, error) { return nil, errors.New("boom") })
	_, err := a.Call(context.Background(), b.Self(), "fail", nil)
	var re *cloister.RemoteError
	if !errors.As(err, &re) || re.Message != "boom" {
		t.Fatalf("Call = %v, want a RemoteError boom", err)
	}
	if _, err := a.Call(context.Background(), b.Self(), "fail", make([]byte, 2048)); !errors.Is(err, cloister.ErrTooLarge) {
		t.Fatalf("oversized = %v, want ErrTooLarge", err)
	}
	if err := a.Handle("", nil); !errors.Is(err, cloister.ErrInvalidName) {
		t.Fatalf("Handle(\"\") = %v", err)
	}
	if _, err := a.Call(context.Background(), b.Self(), strings.Repeat("x", 256), nil); !errors.Is(err, cloister.ErrInvalidName) {
		t.Fatalf("long name = %v", err)
	}
}

func TestDeadlineReachesHandlerAndKilledNodeFailsPendingCalls(t *testing.T) {
	c := cloistertest.New(t, 3, cloistertest.WithConsensus(2))
	a, b := c.Node(0), c.Node(1)
	sawDeadline := make(chan error, 1)
	b.Handle("slow", func(ctx context.Context, _ cloister.Member, _ []byte) ([]byte, error) {
		<-ctx.Done()
		sawDeadline <- ctx.Err()
		return nil, ctx.Err()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_, err := a.Call(ctx, b.Self(), "slow", nil)
	cancel()
	// Either the caller's deadline fires first, or the handler's reply
	// (its context ended at the same propagated deadline) arrives first.
	var re *cloister.RemoteError
	if !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &re) && strings.Contains(re.Message, "deadline")) {
		t.Fatalf("Call = %v, want the deadline, locally or from the handler", err)
	}
	select {
	case err := <-sawDeadline:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("handler saw %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler's context never ended")
	}

	// A call pending on a node that crashes fails with ErrNodeDown long
	// before its own 30 s deadline.
	hang := c.Node(2)
	entered := make(chan struct{}, 1)
	hang.Handle("hang", func(ctx context.Context, _ cloister.Member, _ []byte) ([]byte, error) {
		entered <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	})
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := a.Call(ctx, hang.Self(), "hang", nil)
		errc <- err
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the call never reached the handler")
	}
	start := time.Now()
	c.Kill(2)
	select {
	case err := <-errc:
		if !errors.Is(err, cloister.ErrNodeDown) {
			t.Fatalf("pending call = %v, want ErrNodeDown", err)
		}
		t.Logf("pending call failed %v after the kill", time.Since(start))
	case <-time.After(20 * time.Second):
		t.Fatal("pending call still hanging")
	}
}

func TestCallOwnerAndTyped(t *testing.T) {
	c := cloistertest.New(t, 3)
	type q struct{ Key string }
	type a struct{ Owner string }
	for i := range 3 {
		n := c.Node(i)
		if err := cloister.HandleTyped(n, "who", nil, func(ctx context.Context, from cloister.Member, req q) (a, error) {
			return a{Owner: n.Self().ID}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"k1", "k2", "k3", "k4", "k5"} {
		owner, _ := c.Node(0).Whois(key)
		body, err := c.Node(0).CallOwner(context.Background(), "", key, "who", []byte(`{"Key":"`+key+`"}`))
		if err != nil || !strings.Contains(string(body), owner.ID) {
			t.Fatalf("CallOwner(%s) = %s, %v; owner %s", key, body, err, owner.ID)
		}
		got, err := cloister.CallTyped[q, a](context.Background(), c.Node(1), owner, "who", q{Key: key}, nil)
		if err != nil || got.Owner != owner.ID {
			t.Fatalf("CallTyped = %+v, %v", got, err)
		}
	}
}

func TestCallerWithAnotherSecretIsRefused(t *testing.T) {
	c := cloistertest.New(t, 1)
	echo(c, 0)
	cfg := cloister.LocalConfig()
	cfg.Secret = cloister.Secret("another-secret-entirely")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	outsider, err := cloister.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer outsider.Stop(ctx)
	_, err = outsider.Call(ctx, c.Node(0).Self(), "echo", []byte("let me in"))
	if !errors.Is(err, cloister.ErrAuth) {
		t.Fatalf("call with another secret = %v, want ErrAuth", err)
	}
}
