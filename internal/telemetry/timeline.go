package telemetry

import (
	"sync"
	"time"
)

// timelineLen is how many events the dashboard's timeline keeps.
const timelineLen = 100

// Entry is one event of the timeline.
type Entry struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"` // state, view, up, down, discovery
	// From and To are the states of a state change.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Term is the cluster term after a state change.
	Term   uint64 `json:"term,omitempty"`
	Member string `json:"member,omitempty"`
	// Text is the reason of a member down, the size of a new view, or a
	// discovery error.
	Text string `json:"text,omitempty"`
}

// Timeline keeps the latest entries in a ring buffer.
type Timeline struct {
	mu   sync.Mutex
	buf  []Entry
	next int // index of the next write
	full bool
}

func (t *Timeline) init(n int) { t.buf = make([]Entry, n) }

func (t *Timeline) add(e Entry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf[t.next] = e
	t.next++
	if t.next == len(t.buf) {
		t.next, t.full = 0, true
	}
}

// entries returns the entries, oldest first.
func (t *Timeline) entries() []Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Entry, 0, len(t.buf)) // never nil: JSON [] rather than null
	if t.full {
		out = append(out, t.buf[t.next:]...)
	}
	return append(out, t.buf[:t.next]...)
}
