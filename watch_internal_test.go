package cloister

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cloister-go/cloister/internal/membership"
)

// A hint about a member starts at most one check per hintCooldown, none
// once the member is known ended, and the memory of both stays bounded
// however many members hints name (a peer's notices cost a bounded amount).
func TestHintStateBoundsChecks(t *testing.T) {
	var h hintState
	now := time.Unix(1000, 0)
	if !h.begin("a", now) {
		t.Fatal("first hint about a: no check")
	}
	if h.begin("a", now.Add(hintCooldown/2)) {
		t.Fatal("second hint about a within the cooldown: checked again")
	}
	if !h.begin("a", now.Add(hintCooldown)) {
		t.Fatal("hint about a after the cooldown: no check")
	}
	h.end("b", now)
	if h.begin("b", now.Add(time.Hour)) || !h.isEnded("b") {
		t.Fatal("a member known ended was checked again")
	}
	for i := range 10 * maxHintMemory {
		id := fmt.Sprint("m", i)
		h.begin(id, now.Add(time.Duration(i)))
		h.end(id, now.Add(time.Duration(i)))
	}
	if len(h.checked) > maxHintMemory || len(h.ended) > maxHintMemory {
		t.Fatalf("remembers %d checked and %d ended members, bound %d", len(h.checked), len(h.ended), maxHintMemory)
	}
}

// The watch loop sleeps while every watch runs and nothing changes; a
// watch that ended brings it back watchTick later (not at once: a call that
// fails at once is not restarted in a tight loop), a poke at once.
func TestWatchLoopSleepsUntilThereIsWork(t *testing.T) {
	n := &Node{watchPoke: make(chan struct{}, 1)}
	never := make(chan struct{})
	w := newWatchWake()
	defer w.retry.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 3*watchTick)
	err := n.waitWatchWork(ctx, never, w)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("woke with nothing to do: %v", err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	w.watchEnded()
	w.watchEnded() // two ends, one look
	if err := n.waitWatchWork(ctx, never, w); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < watchTick*9/10 {
		t.Fatalf("a watch that ended was restarted after %v, before the retry (%v)", took, watchTick)
	}
	if w.armed {
		t.Fatal("the retry is still armed after it fired")
	}

	n.watchPoke <- struct{}{}
	start = time.Now()
	if err := n.waitWatchWork(ctx, never, w); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > watchTick/2 {
		t.Fatalf("a poke was looked at after %v", took)
	}
}

// A node passes on the whole row a notice named as far as it holds it
// ended: the members it just found and those it had found before, not
// the members it did not hold ended.
func TestPassOnTheWholeRowKnown(t *testing.T) {
	n := &Node{}
	now := time.Now()
	n.hints.end("a", now) // found by an earlier check
	said := []membership.Member{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	found := []string{"b"}
	n.hints.end("b", now)
	told := n.endedAmong(said, found)
	if !slices.Equal(told, []string{"b", "a"}) {
		t.Fatalf("passed on %v, want b (found now) and a (found before), not c", told)
	}
	if !slices.Equal(found, []string{"b"}) {
		t.Fatalf("the members found were changed to %v", found)
	}
	if told := n.endedAmong(said[1:], found); !slices.Equal(told, found) {
		t.Fatalf("passed on %v for a notice of b and c, want b", told)
	}
}
