package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/discovery"
)

// eventPrinter writes every event as one line: text or JSON. The lines
// of a burst go out in one write: a goroutine of its own writes whatever
// has gathered since its last write, so while the node delivers a batch
// of events (a 100-process start brings each agent a hundred members, most
// in batches) they queue up instead of costing a write each, and whoever
// reads them (a terminal, a log collector, bench/assembly) wakes once per
// batch. At most maxPending bytes wait; past that print blocks, as a write
// to a stuck output did before.
type eventPrinter struct {
	w    io.Writer
	json bool

	mu         sync.Mutex
	cond       *sync.Cond // broadcast when pending grows, shrinks, or closing is set
	pending    []byte     // lines not written yet
	spare      []byte     // the buffer last written, reused for pending
	maxPending int
	closing    bool
	done       chan struct{} // closed when the writer has returned
}

// maxPending bounds the lines waiting to be written, in bytes.
const maxPending = 256 << 10

func newEventPrinter(w io.Writer, json bool) *eventPrinter {
	p := &eventPrinter{w: w, json: json, maxPending: maxPending, done: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	go p.writeLoop()
	return p
}

// writeLoop writes what is pending whenever there is some, until close.
func (p *eventPrinter) writeLoop() {
	defer close(p.done)
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		for len(p.pending) == 0 && !p.closing {
			p.cond.Wait()
		}
		lines, closing := p.pending, p.closing
		p.pending, p.spare = p.spare[:0], nil
		p.cond.Broadcast() // printers blocked on the bound
		p.mu.Unlock()
		if len(lines) > 0 {
			_, _ = p.w.Write(lines) // a closed stdout loses the lines, as before
		}
		p.mu.Lock()
		if closing {
			return
		}
		if cap(lines) <= p.maxPending {
			p.spare = lines
		}
	}
}

// close writes what is pending and stops the writer. Nothing may be
// printed after it.
func (p *eventPrinter) close() {
	p.mu.Lock()
	p.closing = true
	p.cond.Broadcast()
	p.mu.Unlock()
	<-p.done
}

func (p *eventPrinter) OnStateChange(cloister.State, cloister.State, cloister.Snapshot) {}

func (p *eventPrinter) OnEvent(e cloister.Event) {
	var rec map[string]any
	switch e := e.(type) {
	case *cloister.StateChanged:
		rec = map[string]any{"event": "state", "from": e.From.String(), "to": e.To.String(),
			"members": len(e.Snapshot.View.Members), "view": fmt.Sprintf("%016x", e.Snapshot.View.ID), "term": e.Snapshot.Term}
	case *cloister.MemberUp:
		rec = map[string]any{"event": "up", "member": e.Member.Name, "id": e.Member.ID}
	case *cloister.MemberDown:
		rec = map[string]any{"event": "down", "member": e.Member.Name, "id": e.Member.ID, "reason": e.Reason.String()}
	case *cloister.ViewChanged:
		rec = map[string]any{"event": "view", "members": len(e.New.Members), "epoch": e.New.Epoch}
	case *cloister.DiscoveryFailed:
		rec = map[string]any{"event": "discovery_failed", "error": e.Err.Error(), "empty": errors.Is(e.Err, discovery.ErrNoAddresses)}
	case *cloister.RingConfigDiffers:
		rec = map[string]any{"event": "ring_config_differs", "member": e.Member.Name, "id": e.Member.ID}
	case *cloister.EventsDropped:
		rec = map[string]any{"event": "dropped", "count": e.Count}
	case *cloister.RingChanged:
		// The agent itself never asks its rings anything, so it does not
		// build them to print a checksum: `cloister whois` shows it.
		rec = map[string]any{"event": "ring", "ring": e.Name, "view": fmt.Sprintf("%016x", e.New.ViewID())}
	default:
		rec = map[string]any{"event": "other", "text": e.String()}
	}
	p.print(rec, e.String())
}

func (p *eventPrinter) print(rec map[string]any, text string) {
	now := time.Now()
	var line []byte
	if p.json {
		rec["t"] = now.UnixNano()
		b, _ := json.Marshal(rec)
		line = append(b, '\n')
	} else {
		line = fmt.Appendf(nil, "%s %s\n", now.Format("15:04:05.000"), text)
	}
	p.mu.Lock()
	for len(p.pending) > 0 && len(p.pending)+len(line) > p.maxPending && !p.closing {
		p.cond.Wait()
	}
	if !p.closing {
		p.pending = append(p.pending, line...)
		p.cond.Broadcast() // the writer
	}
	p.mu.Unlock()
}
