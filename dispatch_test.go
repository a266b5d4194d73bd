package cloister

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestDispatcherDeliversInOrderAndCountsOverflow(t *testing.T) {
	var total atomic.Uint64
	release := make(chan struct{})
	got := make(chan Event, 100)
	d := newDispatcher(func(e Event) {
		<-release // a listener stuck until released
		got <- e
	}, 3, &total)
	for i := range 10 {
		d.push(&MemberUp{Member: Member{Name: string(rune('a' + i))}})
	}
	// The first event is being delivered (blocked), three wait in the
	// queue, so at least six were dropped; exact counts depend on whether
	// the goroutine took the first one before the rest were pushed.
	close(release)
	d.close()
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		t.Fatal("dispatcher did not finish")
	}
	close(got)
	var names []string
	var dropped uint64
	for e := range got {
		switch e := e.(type) {
		case *MemberUp:
			names = append(names, e.Member.Name)
		case *EventsDropped:
			dropped += e.Count
		}
	}
	if len(names)+int(total.Load()) != 10 {
		t.Fatalf("delivered %d + dropped %d != 10", len(names), total.Load())
	}
	for i := 1; i < len(names); i++ {
		if names[i] <= names[i-1] {
			t.Fatalf("out of order: %v", names)
		}
	}
	if total.Load() < 6 {
		t.Fatalf("dropped %d, want at least 6 with a queue of 3", total.Load())
	}
	if dropped != total.Load() {
		t.Fatalf("EventsDropped announced %d, counter says %d", dropped, total.Load())
	}
}
