package rpc

import (
	"testing"
	"time"
)

// waitFor polls cond until it holds or fails the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// A sender waiting for room must be released when the writer goroutine,
// after its yield, takes the frames queued since it claimed the queue (more),
// not only when it claims it: otherwise it waits for a write that never
// comes, since the queue it waits on is empty.
func TestWriterTakingMoreReleasesWaitingSenders(t *testing.T) {
	var q writeQueue
	q.init()
	big := make([]byte, writeHighWater)
	q.buf = append(q.buf, big...)
	waiting := func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return q.room != nil
	}
	send := func() <-chan error {
		done := make(chan error, 1)
		go func() {
			_, err := q.send(nil, nil, false, false, func(b []byte) []byte { return append(b, big...) })
			done <- err
		}()
		return done
	}

	first := send()
	waitFor(t, "the first sender to wait for room", waiting)
	b := q.claim()
	if err := await(t, first, "the first sender, released by claim"); err != nil {
		t.Fatal(err)
	}
	second := send()
	waitFor(t, "the second sender to wait for room", waiting)
	b = q.more(b)
	if err := await(t, second, "the second sender, released by more"); err != nil {
		t.Fatal(err)
	}
	if len(b) != 2*writeHighWater {
		t.Fatalf("the writer took %d bytes, want %d", len(b), 2*writeHighWater)
	}
}
