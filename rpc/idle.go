package rpc

import "time"

// reapLoop retires, every MaxIdle/2 until the endpoint closes, the dialled
// connections that carried no call for MaxIdle and have none pending.
// Without it a connection was retired only by the next call to its peer,
// so one opened for a single call (a check of a hint, a call to a member
// picked at random) stayed open for good, with its reader and writer
// goroutines and buffers on both sides: over time, a connection to every
// member each node ever called.
func (e *Endpoint) reapLoop() {
	defer e.wg.Done()
	tick := time.NewTicker(max(e.cfg.MaxIdle/2, minReapPeriod))
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			e.reapIdle()
		case <-e.ctx.Done():
			return
		}
	}
}

// minReapPeriod bounds how often reapLoop looks, whatever MaxIdle.
const minReapPeriod = 10 * time.Millisecond

// reapIdle retires the dialled connections idle for longer than MaxIdle,
// as the next call to their peer would (connFor): calls that still hold
// one get errRetired and dial afresh.
func (e *Endpoint) reapIdle() {
	now := e.now()
	var idle []*conn
	e.mu.Lock()
	for key, pe := range e.peers {
		if c := e.retireIdleLocked(pe, now); c != nil {
			if pe.dial == nil {
				delete(e.peers, key)
			}
			idle = append(idle, c)
		}
	}
	e.mu.Unlock()
	for _, c := range idle {
		c.fail(errRetired)
	}
}

// retireIdleLocked takes the peer's dialled connection out of use when it
// carried no call for MaxIdle and has none pending, and returns it for the
// caller to fail with errRetired once e.mu is released; nil when it stays.
// e.mu must be held.
func (e *Endpoint) retireIdleLocked(pe *peerEntry, now time.Time) *conn {
	c := pe.conn
	if c == nil || !c.idleSince(now, e.cfg.MaxIdle) || !c.retire() {
		return nil
	}
	pe.conn = nil
	e.stats.idleRetired.Add(1)
	return c
}
