package cloister

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

// dispatcher delivers events to one listener on its own goroutine, in
// order, through a bounded queue. When the queue is full, new events are
// dropped and counted; the listener hears EventsDropped before the next
// event it receives.
type dispatcher struct {
	deliver func(Event)
	limit   int

	mu      sync.Mutex
	queue   []Event
	dropped uint64 // since the last EventsDropped delivery
	closed  bool
	signal  chan struct{}
	done    chan struct{}
	gid     atomic.Uint64 // the goroutine that delivers, so Stop can tell it runs there

	totalDropped *atomic.Uint64 // node-wide counter
}

func newDispatcher(deliver func(Event), limit int, totalDropped *atomic.Uint64) *dispatcher {
	d := &dispatcher{
		deliver:      deliver,
		limit:        limit,
		signal:       make(chan struct{}, 1),
		done:         make(chan struct{}),
		totalDropped: totalDropped,
	}
	go d.run()
	return d
}

func listenerDeliver(l Listener) func(Event) {
	el, all := l.(EventListener)
	return func(e Event) {
		if sc, ok := e.(*StateChanged); ok {
			l.OnStateChange(sc.From, sc.To, sc.Snapshot)
		}
		if all {
			el.OnEvent(e)
		}
	}
}

// push enqueues e without blocking.
func (d *dispatcher) push(e Event) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	if len(d.queue) >= d.limit {
		d.dropped++
		d.mu.Unlock()
		d.totalDropped.Add(1)
		return
	}
	d.queue = append(d.queue, e)
	d.mu.Unlock()
	select {
	case d.signal <- struct{}{}:
	default:
	}
}

// close stops accepting events; queued events are still delivered, then
// the goroutine ends and done is closed.
func (d *dispatcher) close() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	select {
	case d.signal <- struct{}{}:
	default:
	}
}

func (d *dispatcher) run() {
	defer close(d.done)
	d.gid.Store(goroutineID())
	for range d.signal {
		for {
			d.mu.Lock()
			if len(d.queue) == 0 {
				closed := d.closed
				d.mu.Unlock()
				if closed {
					return
				}
				break
			}
			e := d.queue[0]
			d.queue[0] = nil
			d.queue = d.queue[1:]
			dropped := d.dropped
			d.dropped = 0
			d.mu.Unlock()
			if dropped > 0 {
				d.deliver(&EventsDropped{Count: dropped})
			}
			d.deliver(cloneEvent(e))
		}
	}
}

// goroutineID is the ID of the calling goroutine, read from its stack
// header ("goroutine 42 [running]:"); 0 if it cannot be read. Only Stop
// and each dispatcher, once, ask.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		id, _ := strconv.ParseUint(string(b[:i]), 10, 64)
		return id
	}
	return 0
}
