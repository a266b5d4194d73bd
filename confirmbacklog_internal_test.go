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

// The backlog gives failures back oldest first, one per member (the
// newest report of each), and refuses more than maxConfirmBacklog members.
func TestConfirmBacklog(t *testing.T) {
	var b confirmBacklog
	for i, id := range []string{"a", "b", "a", "c"} {
		e := failure(id)
		e.Member.Meta = []byte{byte(i)}
		if !b.push(e) {
			t.Fatalf("push %s refused", id)
		}
	}
	if got := b.len(); got != 3 {
		t.Fatalf("len = %d, want 3 (a held once)", got)
	}
	var got []string
	for e, ok := b.pop(); ok; e, ok = b.pop() {
		got = append(got, fmt.Sprint(e.Member.ID, e.Member.Meta))
	}
	if fmt.Sprint(got) != "[a[2] b[1] c[3]]" {
		t.Fatalf("popped %v, want [a[2] b[1] c[3]] (a in its first place, with its newest report)", got)
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
	if got := n.failuresConfirming(); got != 5 {
		t.Fatalf("FailuresConfirming %d, want 5 (2 under way, 3 waiting)", got)
	}
	close(release)
	rest := []string{next(), next(), next()}
	slices.Sort(rest)
	if fmt.Sprint(rest) != "[c d e]" {
		t.Fatalf("later confirmations %v, want [c d e]", rest)
	}
	n.wg.Wait()
	if len(n.confirmSlots) != 0 || n.confirmWait.len() != 0 || n.failuresConfirming() != 0 {
		t.Fatalf("after all: %d slots taken, %d waiting, FailuresConfirming %d", len(n.confirmSlots), n.confirmWait.len(), n.failuresConfirming())
	}
}
