package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// gatedWriter records writes; each blocks until the test lets it go.
type gatedWriter struct {
	mu     sync.Mutex
	writes []string
	gate   chan struct{}
	inside chan struct{} // a write has started
}

func newGatedWriter() *gatedWriter {
	return &gatedWriter{gate: make(chan struct{}), inside: make(chan struct{}, 1)}
}

func (w *gatedWriter) Write(b []byte) (int, error) {
	select {
	case w.inside <- struct{}{}:
	default:
	}
	<-w.gate
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(b))
	return len(b), nil
}

func (w *gatedWriter) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.writes...)
}

// Lines printed while a write is under way go out together in the next
// write, in order, and close writes what is still pending.
func TestPrinterWritesABurstAtOnce(t *testing.T) {
	w := newGatedWriter()
	p := newEventPrinter(w, true)
	p.print(map[string]any{"event": "up", "n": 0}, "")
	waitInside(t, w) // the first line's write has started and is held
	for i := 1; i < 100; i++ {
		p.print(map[string]any{"event": "up", "n": i}, "")
	}
	close(w.gate) // every write goes through from now on
	p.print(map[string]any{"event": "exited"}, "")
	p.close()
	writes := w.all()
	if len(writes) < 2 || len(writes) > 3 {
		t.Fatalf("%d writes for 101 lines, want 2 or 3 (the first line, the 99 printed during it, the last)", len(writes))
	}
	lines := strings.Split(strings.TrimSuffix(strings.Join(writes, ""), "\n"), "\n")
	if len(lines) != 101 {
		t.Fatalf("%d lines written, want 101", len(lines))
	}
	for i, l := range lines[:100] {
		var rec struct {
			Event string
			N     int
			T     int64
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec.Event != "up" || rec.N != i || rec.T == 0 {
			t.Fatalf("line %d: %q (%v)", i, l, err)
		}
	}
	if !strings.Contains(lines[100], `"exited"`) {
		t.Fatalf("last line %q, want the exit", lines[100])
	}
}

// With the output stuck, print blocks once maxPending bytes wait, instead
// of holding every line in memory; it goes on when the output does.
func TestPrinterBoundsWhatWaits(t *testing.T) {
	w := newGatedWriter()
	p := newEventPrinter(w, false)
	p.maxPending = 1000
	p.print(nil, "first")
	waitInside(t, w)
	printed := make(chan int, 1)
	go func() {
		for i := range 200 {
			p.print(nil, fmt.Sprintf("line %03d", i)) // 27 bytes each with the time
		}
		printed <- 200
	}()
	// About 1000/27 lines fit; the goroutine then blocks. It cannot be
	// told apart from a slow one, so look at what waits instead.
	deadline := time.After(10 * time.Second)
	for {
		p.mu.Lock()
		n := len(p.pending)
		p.mu.Unlock()
		if n > 1000-30 {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("only %d bytes pending by the deadline", n)
		case <-time.After(time.Millisecond):
		}
	}
	select {
	case <-printed:
		t.Fatal("200 lines printed while the output was stuck")
	default:
	}
	p.mu.Lock()
	n := len(p.pending)
	p.mu.Unlock()
	if n > 1000 {
		t.Fatalf("%d bytes pending, want at most 1000", n)
	}
	close(w.gate)
	select {
	case <-printed:
	case <-time.After(10 * time.Second):
		t.Fatal("print still blocked after the output went on")
	}
	p.close()
	out := strings.Join(w.all(), "")
	if c := strings.Count(out, "\n"); c != 201 {
		t.Fatalf("%d lines written, want 201", c)
	}
	if !strings.Contains(out, "line 199\n") || !bytes.Contains([]byte(out), []byte(" first\n")) {
		t.Fatalf("lines missing from %q", out[:min(len(out), 200)])
	}
}

func waitInside(t *testing.T, w *gatedWriter) {
	t.Helper()
	select {
	case <-w.inside:
	case <-time.After(10 * time.Second):
		t.Fatal("no write started")
	}
}
