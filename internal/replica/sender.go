package replica

import (
	"context"
	"errors"
	"time"

	"github.com/cloister-go/cloister"
)

// peer is the stream of this member's changes to one other member.
type peer struct {
	m      cloister.Member
	ctx    context.Context
	cancel context.CancelFunc
	signal chan struct{}

	// written by the stream's goroutine with the store locked
	acked  uint64
	synced bool
}

func (p *peer) wake() {
	select {
	case p.signal <- struct{}{}:
	default:
	}
}

// callTimeout bounds one push or chunk.
const callTimeout = 5 * time.Second

// stream sends changes to p until p leaves the view or the node stops.
func (s *Store) stream(p *peer) {
	backoff := time.Duration(0)
	for p.ctx.Err() == nil {
		if backoff > 0 {
			if !sleep(p.ctx, backoff) {
				return
			}
		}
		sent, err := s.sendOnce(p)
		switch {
		case err != nil:
			backoff = min(max(2*backoff, 10*time.Millisecond), time.Second)
		case sent:
			backoff = 0
		default:
			backoff = 0
			select {
			case <-p.signal:
			case <-p.ctx.Done():
				return
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// sendOnce sends one batch, or the whole state, if there is anything to
// send: it reports whether it sent.
func (s *Store) sendOnce(p *peer) (bool, error) {
	s.mu.Lock()
	if !p.synced || p.acked < s.logBase {
		entries := make([]Op, 0, len(s.local))
		for k, v := range s.local {
			entries = append(entries, Op{Key: k, Val: v})
		}
		version, term := s.version, s.term
		s.mu.Unlock()
		return true, s.sendState(p, version, term, entries)
	}
	if p.acked >= s.version {
		s.mu.Unlock()
		return false, nil
	}
	from := p.acked
	start := int(from - s.logBase)
	ops := s.log[start:min(len(s.log), start+maxBatch)]
	size := 0
	for i, o := range ops {
		size += len(o.key) + len(o.val) + 8
		if size > chunkBytes {
			ops = ops[:i+1]
			break
		}
	}
	s.mu.Unlock()
	// Logged changes are never rewritten (trimming copies), so the slice
	// may be read unlocked.
	body := encodePush(from, from+uint64(len(ops)), ops)
	status, version, err := s.call(p, ".push", body)
	if err != nil {
		return true, err
	}
	return true, s.answered(p, status, version, from+uint64(len(ops)))
}

// sendState sends the whole state in chunks.
func (s *Store) sendState(p *peer, version, term uint64, entries []Op) error {
	flags := byte(flagFirst)
	for {
		n, size := 0, 0
		for n < len(entries) && size < chunkBytes {
			size += len(entries[n].Key) + len(entries[n].Val) + 4
			n++
		}
		if n == len(entries) {
			flags |= flagLast
		}
		status, got, err := s.call(p, ".sync", encodeChunk(chunk{version: version, term: term, flags: flags, entries: entries[:n]}))
		if err != nil {
			return err
		}
		if flags&flagLast != 0 {
			return s.answered(p, status, got, version)
		}
		if status != statusOK {
			return s.answered(p, status, got, version)
		}
		entries, flags = entries[n:], 0
	}
}

// answered records the peer's answer to a push or the last chunk.
func (s *Store) answered(p *peer, status byte, got, want uint64) error {
	s.mu.Lock() // acked and synced are the stream's, read by WaitDelivered too
	defer s.mu.Unlock()
	switch status {
	case statusOK:
		p.acked, p.synced = want, true
		close(s.acked)
		s.acked = make(chan struct{})
		return nil
	case statusNeedSync:
		p.synced = false
		return nil
	default: // not (yet) in the peer's view: try again shortly
		return errNotInView
	}
}

var errNotInView = errors.New("replica: not in the peer's view yet")

func (s *Store) call(p *peer, handler string, body []byte) (byte, uint64, error) {
	ctx, cancel := context.WithTimeout(p.ctx, callTimeout)
	defer cancel()
	reply, err := s.host.Call(ctx, p.m, s.name+handler, body)
	if err != nil {
		return 0, 0, err
	}
	return decodeStatus(reply)
}
