package main

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// eventLog keeps, with -log, every output line of a member that the bench
// read an event from, stamped when it was read, and the bench's own phase
// marks (lines starting with "#"), so a false failure can be traced to the
// observer, the subject and the moment. A nil eventLog keeps nothing.
type eventLog struct {
	mu sync.Mutex
	f  *os.File
}

func openEventLog(path string) (*eventLog, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &eventLog{f: f}, nil
}

func (l *eventLog) line(at time.Time, text string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.f, "%s %s\n", at.UTC().Format("15:04:05.000"), text)
}

// mark writes one of the bench's own lines.
func (l *eventLog) mark(text string) { l.line(time.Now(), "# "+text) }

func (l *eventLog) close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
