package watch

import (
	"sync"
	"sync/atomic"
	"testing"
)

func drain(ch <-chan int) []int {
	var got []int
	for {
		select {
		case e := <-ch:
			got = append(got, e)
		default:
			return got
		}
	}
}

func TestWatchStartsFromCurrentThenChanges(t *testing.T) {
	h := New[int](8)
	ch, cancel := h.Watch("k", func() []int { return []int{1} })
	h.Notify("k", 2)
	h.Notify("other", 99)
	h.Defer("k", 3)
	if got := drain(ch); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("before Flush: %v, want [1 2]", got)
	}
	h.Flush()
	if got := drain(ch); len(got) != 1 || got[0] != 3 {
		t.Fatalf("after Flush: %v, want [3]", got)
	}
	cancel()
	h.Notify("k", 4)
	h.Defer("k", 5)
	h.Flush()
	if got := drain(ch); len(got) != 0 {
		t.Fatalf("after cancel: %v", got)
	}
}

func TestFullWatcherKeepsTheLatest(t *testing.T) {
	h := New[int](2)
	ch, _ := h.Watch("k", func() []int { return nil })
	for i := 1; i <= 10; i++ {
		h.Notify("k", i)
	}
	if got := drain(ch); len(got) != 2 || got[0] != 9 || got[1] != 10 {
		t.Fatalf("got %v, want [9 10]", got)
	}
}

// TestWatcherStartedInABatchHearsIt: a watcher that starts between a
// change and its publication starts from the old state and must still
// hear the change.
func TestWatcherStartedInABatchHearsIt(t *testing.T) {
	h := New[int](8)
	h.Defer("k", 2) // the batch changed k from 1 to 2, not yet published
	ch, _ := h.Watch("k", func() []int { return []int{1} })
	h.Flush() // published
	if got := drain(ch); len(got) != 2 || got[1] != 2 {
		t.Fatalf("got %v, want [1 2]", got)
	}
}

// TestLastEventIsNeverStale races watchers against a writer that
// publishes a counter and then flushes it: whatever a watcher received
// last, once the writer is done, is the final value.
func TestLastEventIsNeverStale(t *testing.T) {
	h := New[int](4)
	var published atomic.Int64
	const final = 2000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= final; i++ {
			h.Defer("k", i)
			published.Store(int64(i))
			h.Flush()
		}
	}()
	var chans []<-chan int
	for range 50 {
		ch, _ := h.Watch("k", func() []int { return []int{int(published.Load())} })
		chans = append(chans, ch)
	}
	wg.Wait()
	for i, ch := range chans {
		got := drain(ch)
		if len(got) == 0 || got[len(got)-1] != final {
			t.Fatalf("watcher %d: last event of %v is not %d", i, got, final)
		}
	}
}
