package cloister

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cloister-go/cloister/internal/membership"
)

func failure(id string) membership.Event {
	return membership.Event{Kind: membership.Departed, Member: membership.Member{ID: id}}
}

// The backlog gives failures back oldest first, one per member, skips
// members alive again, and refuses more than maxConfirmBacklog members.
func TestConfirmBacklog(t *testing.T) {
	var b confirmBacklog
	for _, id := range []string{"a", "b", "a", "c"} {
		if !b.push(failure(id)) {
			t.Fatalf("push %s refused", id)
		}
	}
	if got := b.len(); got != 3 {
		t.Fatalf("len = %d, want 3 (a held once)", got)
	}
	b.drop("b")
	var got []string
	for e, ok := b.pop(); ok; e, ok = b.pop() {
		got = append(got, e.Member.ID)
	}
	if fmt.Sprint(got) != "[a c]" {
		t.Fatalf("popped %v, want [a c]", got)
	}

	for i := range maxConfirmBacklog {
		if !b.push(failure(fmt.Sprint(i))) {
			t.Fatalf("push %d of %d refused", i, maxConfirmBacklog)
		}
	}
	if b.push(failure("one more")) {
		t.Fatalf("push beyond %d accepted", maxConfirmBacklog)
	}
	if !b.push(failure("7")) {
		t.Fatal("a member already held was refused when full")
	}
}

// Pushing and dropping one member again and again does not grow the
// backlog's order without bound.
func TestConfirmBacklogBounded(t *testing.T) {
	var b confirmBacklog
	for range 10 * maxConfirmBacklog {
		b.push(failure("flapping"))
		b.drop("flapping")
	}
	if n := len(b.order); n > 2*maxConfirmBacklog {
		t.Fatalf("order holds %d entries after pushes and drops of one member, want at most %d", n, 2*maxConfirmBacklog)
	}
	if _, ok := b.pop(); ok {
		t.Fatal("popped a dropped member")
	}
}

// With every slot taken, further failures wait in the backlog (none
// stands unconfirmed), and each is confirmed once a slot frees, oldest
// first.
func TestFailuresBeyondTheSlotsWaitForOne(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := &Node{loopCtx: ctx, confirmSlots: make(chan struct{}, 2)}
	release := make(chan struct{})
	started := make(chan string, 5)
	n.confirmOne = func(e membership.Event) {
		started <- e.Member.ID
		<-release
	}
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if !n.startConfirm(failure(id)) {
			t.Fatalf("failure of %s would stand unconfirmed", id)
		}
	}
	next := func() string {
		select {
		case id := <-started:
			return id
		case <-time.After(10 * time.Second):
			t.Fatal("no confirmation started")
			return ""
		}
	}
	first := []string{next(), next()}
	slices.Sort(first)
	if fmt.Sprint(first) != "[a b]" {
		t.Fatalf("first confirmations %v, want [a b]", first)
	}
	select {
	case id := <-started:
		t.Fatalf("confirmation of %s started beyond the 2 slots", id)
	case <-time.After(50 * time.Millisecond):
	}
	if got := n.confirmWait.len(); got != 3 {
		t.Fatalf("%d failures wait, want 3", got)
	}
	close(release)
	rest := []string{next(), next(), next()}
	slices.Sort(rest)
	if fmt.Sprint(rest) != "[c d e]" {
		t.Fatalf("later confirmations %v, want [c d e]", rest)
	}
	n.wg.Wait()
	if len(n.confirmSlots) != 0 || n.confirmWait.len() != 0 {
		t.Fatalf("after all: %d slots taken, %d waiting", len(n.confirmSlots), n.confirmWait.len())
	}
}
