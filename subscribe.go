package cloister

import "sync"

// Subscribe returns a channel that receives every event from now on, in
// order, and a function that ends the subscription. Events wait in a queue
// of at most buffer entries (at least 1) while the channel is not read;
// beyond that they are dropped, counted, and announced by EventsDropped.
// The channel is closed after cancel is called or the node stops, once the
// queued events have been received.
func (n *Node) Subscribe(buffer int) (<-chan Event, func()) {
	ch := make(chan Event)
	quit := make(chan struct{})
	d := newDispatcher(func(e Event) {
		select {
		case ch <- e:
		case <-quit:
		}
	}, max(buffer, 1), &n.dropped)
	go func() {
		<-d.done
		close(ch)
	}()
	n.dispatchMu.Lock()
	if n.dispatchClosed {
		d.close() // the node stopped: the channel closes at once
	} else {
		n.dispatch = append(n.dispatch, d)
	}
	n.dispatchMu.Unlock()

	var once sync.Once
	cancel := func() {
		once.Do(func() {
			close(quit)
			n.dispatchMu.Lock()
			for i, x := range n.dispatch {
				if x == d {
					n.dispatch = append(n.dispatch[:i:i], n.dispatch[i+1:]...)
					break
				}
			}
			n.dispatchMu.Unlock()
			d.close()
		})
	}
	return ch, cancel
}
