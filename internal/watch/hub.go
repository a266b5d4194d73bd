package watch

import "sync"

// Hub is the watchers of one service, by key. The zero value is not
// usable; make one with New.
type Hub[E any] struct {
	queue int

	mu       sync.Mutex
	watchers map[string][]chan E
	deferred []keyed[E]
}

type keyed[E any] struct {
	key string
	e   E
}

// New returns a hub whose watchers each have room for queue pending
// events (at least 1).
func New[E any](queue int) *Hub[E] {
	return &Hub[E]{queue: max(queue, 1), watchers: map[string][]chan E{}}
}

// Watch registers a watcher of key and sends it current(), the key's
// state as lookups see it now, first. cancel stops the watch; the channel
// is not closed.
func (h *Hub[E]) Watch(key string, current func() []E) (events <-chan E, cancel func()) {
	ch := make(chan E, h.queue)
	h.mu.Lock()
	for _, e := range current() {
		send(ch, e)
	}
	h.watchers[key] = append(h.watchers[key], ch)
	h.mu.Unlock()
	return ch, func() { h.remove(key, ch) }
}

func (h *Hub[E]) remove(key string, ch chan E) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ws := h.watchers[key]
	for i, x := range ws {
		if x == ch {
			ws = append(ws[:i:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(h.watchers, key)
	} else {
		h.watchers[key] = ws
	}
}

// Notify tells key's watchers of e now.
func (h *Hub[E]) Notify(key string, e E) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.watchers[key] {
		send(ch, e)
	}
}

// Defer queues e for key's watchers until the next Flush: call it for a
// change that lookups see only once the batch is published. It queues e
// even while key has no watcher: one may start watching before the Flush,
// from the state before the batch.
func (h *Hub[E]) Defer(key string, e E) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.deferred = append(h.deferred, keyed[E]{key, e})
}

// Flush hands out the deferred events, in the order they were queued:
// call it once the batch they belong to is published.
func (h *Hub[E]) Flush() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range h.deferred {
		for _, ch := range h.watchers[d.key] {
			send(ch, d.e)
		}
	}
	clear(h.deferred)
	h.deferred = h.deferred[:0]
}

// send puts e on ch, dropping the oldest pending event while ch is full.
// Only the hub's lock holder sends, so the loop ends: each round either
// sends or frees a slot.
func send[E any](ch chan E, e E) {
	for {
		select {
		case ch <- e:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}
