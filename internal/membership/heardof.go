package membership

import "time"

// Members heard of before memberlist knows them. A member's first direct
// advert often arrives before its alive message: the advert goes straight
// to every member its sender knows, the alive message by gossip, a few
// rounds later and sometimes much later (a member that missed it waits
// for the next state exchange). The advert is held until then (hold), and
// its sender's ID names its address, so the caller can fetch the member
// with a state exchange instead of waiting: HeardOf lists them and
// HeardSignal says when one more was held.

// HeardSignal is signalled (capacity 1) when a direct advert from a
// member memberlist does not hold alive is held for the first time.
func (m *Membership) HeardSignal() <-chan struct{} { return m.d.heard }

// Heard is a member heard of (HeardOf).
type Heard struct {
	ID string
	At time.Time // when its last advert came
}

// HeardOf returns the members whose direct adverts are held because
// memberlist does not hold them alive, and never reported them departed:
// at most maxHeld, in no order. A member that joins, by gossip or a state
// exchange, leaves the list. The IDs come from authenticated datagrams
// when the cluster has a key, and from anybody otherwise: a caller dials
// only addresses it has other reasons to trust (discovery's). A member
// heard of long ago may have ended since; At says how long ago.
func (m *Membership) HeardOf() []Heard {
	d := m.d
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Heard, 0, len(d.held))
	for id, h := range d.held {
		if _, gone := d.departed[id]; !gone {
			out = append(out, Heard{ID: id, At: h.at})
		}
	}
	return out
}

// maxDeparted bounds the departed members remembered (delegate.departed).
const maxDeparted = 1024

// noteDeparted remembers that memberlist reported the member id departed:
// its adverts that come later (its last ones, sent as it stopped, or late
// copies) are not news of a member to fetch, and joining it then could
// reach a process that is still stopping. d.mu must be held.
func (d *delegate) noteDeparted(id string) {
	if _, ok := d.departed[id]; !ok && len(d.departed) >= maxDeparted {
		for old := range d.departed {
			delete(d.departed, old)
			break
		}
	}
	d.departed[id] = struct{}{}
}

// heardOne signals HeardSignal without blocking.
func (d *delegate) heardOne() {
	select {
	case d.heard <- struct{}{}:
	default:
	}
}
