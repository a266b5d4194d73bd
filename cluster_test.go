package cloister_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

func TestThreeNodesReachReady(t *testing.T) {
	c := cloistertest.New(t, 3)
	for i := range 3 {
		s := c.Node(i).Snapshot()
		if s.State != cloister.Ready || len(s.View.Members) != 3 {
			t.Fatalf("node %d: state %v with %d members, want ready with 3", i, s.State, len(s.View.Members))
		}
		select {
		case <-c.Node(i).Ready():
		default:
			t.Fatalf("node %d: Ready() not closed although Ready", i)
		}
	}
}

func TestConsensusNotReachedReturnsProgress(t *testing.T) {
	c := cloistertest.New(t, 2, cloistertest.WithConsensus(3), cloistertest.WithoutWait())
	c.WaitAll("both nodes see each other", func(s cloister.Snapshot) bool { return len(s.View.Members) == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := c.Node(0).WaitReady(ctx)
	var ae *cloister.AssemblyError
	if !errors.As(err, &ae) || !errors.Is(err, cloister.ErrNotReady) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady = %v, want an AssemblyError matching ErrNotReady and DeadlineExceeded", err)
	}
	if ae.Alive != 2 || ae.Consensus != 3 || ae.State != cloister.Assembling {
		t.Fatalf("progress = %d of %d in %v, want 2 of 3 assembling", ae.Alive, ae.Consensus, ae.State)
	}
	t.Logf("progress error: %v", err)

	c.Add()
	c.WaitAllReady()
}
