package replica

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cloister-go/cloister"
)

// Op is one entry, or one change of an origin's entries.
type Op struct {
	Key string
	Val []byte // never changed once handed over
	Del bool
}

// Sink keeps what the store replicates: the entries of every origin,
// this member included. Its methods run one at a time with the store
// locked, and must not block; through tx they may change this member's
// own entries (those changes reach the sink after the call returns).
type Sink interface {
	// Apply applies an origin's changes, in order.
	Apply(tx *Tx, origin cloister.Member, ops []Op)
	// Replace sets an origin's whole state.
	Replace(tx *Tx, origin cloister.Member, entries []Op)
	// Drop forgets an origin that left the view.
	Drop(tx *Tx, origin cloister.Member)
}

// ErrTooMany is returned when this member would own more entries than
// MaxEntries.
var ErrTooMany = errors.New("replica: too many entries")

// ErrEntry is returned for a key or value over the limits (or an empty key).
var ErrEntry = errors.New("replica: key or value out of bounds")

// Store replicates this member's entries to the view, and the view's to
// this member.
type Store struct {
	host       cloister.Host
	name       string
	sink       Sink
	maxEntries int
	ctx        context.Context

	pushes, syncs, refused *atomic.Uint64

	mu      sync.Mutex
	self    cloister.Member
	local   map[string][]byte
	version uint64 // changes made to local, marks included
	term    uint64 // the last term marked
	log     []logOp
	logBase uint64 // version before log[0]
	view    map[string]cloister.Member
	origins map[string]*origin
	peers   map[string]*peer
	marked  chan struct{} // closed and replaced when an origin's term mark advances
	acked   chan struct{} // closed and replaced when a peer acknowledges changes
}

// origin is what this member knows of another member's entries.
type origin struct {
	member       cloister.Member
	version      uint64
	term         uint64
	pending      *chunk // a sync in progress
	pendingBytes int    // its size, bounded by MaxStateBytes
}

// Context ends when the node stops: for the work a service on the store
// starts (its handlers' runs, its waits).
func (s *Store) Context() context.Context { return s.ctx }

// maxLog bounds the change log; a peer further behind gets the whole state.
const maxLog = 1 << 16

// New makes a store named name (its handlers are name+".push" and
// name+".sync") and attaches it to the node. Call it from Service.Start.
// maxEntries bounds this member's entries and those accepted from any
// one origin.
func New(h cloister.Host, name string, sink Sink, maxEntries int) (*Store, error) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-h.Done(); cancel() }()
	s := &Store{
		host: h, name: name, sink: sink, maxEntries: maxEntries, ctx: ctx,
		pushes: h.Counter("pushes"), syncs: h.Counter("syncs"), refused: h.Counter("refused"),
		self: h.Self(), local: map[string][]byte{},
		view: map[string]cloister.Member{}, origins: map[string]*origin{}, peers: map[string]*peer{},
		marked: make(chan struct{}), acked: make(chan struct{}),
	}
	if err := h.Handle(name+".push", s.handlePush); err != nil {
		return nil, err
	}
	if err := h.Handle(name+".sync", s.handleSync); err != nil {
		return nil, err
	}
	h.Listen(viewListener{s})
	return s, nil
}

// Tx is the store, locked: this member's entries may be read and changed.
type Tx struct {
	s   *Store
	ops []Op // changes not yet handed to the sink
}

// Get returns this member's entry.
func (tx *Tx) Get(key string) ([]byte, bool) {
	v, ok := tx.s.local[key]
	return v, ok
}

// Len is the number of this member's entries.
func (tx *Tx) Len() int { return len(tx.s.local) }

// Set sets this member's entry. val must not be changed afterwards.
func (tx *Tx) Set(key string, val []byte) error {
	if key == "" || len(key) > MaxKey || len(val) > MaxVal {
		return ErrEntry
	}
	s := tx.s
	if _, ok := s.local[key]; !ok && len(s.local) >= s.maxEntries {
		return fmt.Errorf("%w: %d", ErrTooMany, s.maxEntries)
	}
	s.local[key] = val
	s.append(logOp{kind: opSet, key: key, val: val})
	tx.ops = append(tx.ops, Op{Key: key, Val: val})
	return nil
}

// Delete removes this member's entry, if present.
func (tx *Tx) Delete(key string) {
	s := tx.s
	if _, ok := s.local[key]; !ok {
		return
	}
	delete(s.local, key)
	s.append(logOp{kind: opDel, key: key})
	tx.ops = append(tx.ops, Op{Key: key, Del: true})
}

// Term is the last term this member marked.
func (tx *Tx) Term() uint64 { return tx.s.term }

// TermOf is the last term mark received from a member of the view (this
// member's own for itself), 0 when none.
func (tx *Tx) TermOf(id string) uint64 {
	if id == tx.s.self.ID {
		return tx.s.term
	}
	if o := tx.s.origins[id]; o != nil {
		return o.term
	}
	return 0
}

// View is the members this store replicates with, itself included. The
// map is the store's: read it only within the transaction.
func (tx *Tx) View() map[string]cloister.Member { return tx.s.view }

func (s *Store) append(o logOp) {
	s.version++
	s.log = append(s.log, o)
	if len(s.log) > maxLog {
		half := len(s.log) / 2
		s.log = append([]logOp(nil), s.log[half:]...)
		s.logBase += uint64(half)
	}
}

// Update runs fn with the store locked; the changes it makes reach the
// sink, then every peer.
func (s *Store) Update(fn func(tx *Tx) error) error {
	s.mu.Lock()
	tx := &Tx{s: s}
	err := fn(tx)
	s.settle(tx)
	s.mu.Unlock()
	return err
}

// settle hands the sink this member's changes until there are none left,
// and wakes the peers if there were any. Called locked.
func (s *Store) settle(tx *Tx) {
	changed := false
	for len(tx.ops) > 0 {
		ops := tx.ops
		tx.ops = nil
		s.sink.Apply(tx, s.self, ops)
		changed = true
	}
	if changed {
		s.wakeAll()
	}
}

// Mark records that this member reached term: every change made before is
// ordered before the mark in every stream.
func (s *Store) Mark(term uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if term <= s.term {
		return
	}
	s.term = term
	s.append(logOp{kind: opMark, term: term})
	s.wakeAll()
	s.notifyMarked()
}

// Version is the number of changes this member has made to its entries
// (marks included).
func (s *Store) Version() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// WaitDelivered waits until every member of the view has acknowledged this
// member's changes up to version, or ctx ends.
func (s *Store) WaitDelivered(ctx context.Context, version uint64) error {
	for {
		s.mu.Lock()
		done := true
		for _, p := range s.peers {
			if !p.synced || p.acked < version {
				done = false
				break
			}
		}
		ch := s.acked
		s.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Marked returns a channel closed at the next term mark, received or made.
func (s *Store) Marked() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.marked
}

func (s *Store) notifyMarked() {
	close(s.marked)
	s.marked = make(chan struct{})
}

func (s *Store) wakeAll() {
	for _, p := range s.peers {
		p.wake()
	}
}

// handlePush applies a batch of an origin's changes.
func (s *Store) handlePush(_ context.Context, from cloister.Member, body []byte) ([]byte, error) {
	first, last, ops, err := decodePush(body)
	if err != nil {
		s.refused.Add(1)
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, status := s.originLocked(from)
	if status != statusOK {
		return encodeStatus(status, 0), nil
	}
	if o.pending != nil || o.version != first {
		return encodeStatus(statusNeedSync, o.version), nil
	}
	tx := &Tx{s: s}
	batch := make([]Op, 0, len(ops))
	marked := false
	for _, op := range ops {
		switch op.kind {
		case opMark:
			if op.term > o.term {
				o.term, marked = op.term, true
			}
		case opDel:
			batch = append(batch, Op{Key: op.key, Del: true})
		default:
			batch = append(batch, Op{Key: op.key, Val: op.val})
		}
	}
	if len(batch) > 0 {
		s.sink.Apply(tx, o.member, batch)
	}
	o.version = last
	s.pushes.Add(1)
	if marked {
		s.notifyMarked()
	}
	s.settle(tx)
	return encodeStatus(statusOK, o.version), nil
}

// handleSync takes a chunk of an origin's whole state.
func (s *Store) handleSync(_ context.Context, from cloister.Member, body []byte) ([]byte, error) {
	c, err := decodeChunk(body)
	if err != nil {
		s.refused.Add(1)
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, status := s.originLocked(from)
	if status != statusOK {
		return encodeStatus(status, 0), nil
	}
	switch {
	case c.flags&flagFirst != 0:
		o.pending, o.pendingBytes = &chunk{version: c.version, term: c.term}, 0
	case o.pending == nil || o.pending.version != c.version:
		o.pending = nil
		return encodeStatus(statusNeedSync, o.version), nil
	}
	size := 0
	for _, e := range c.entries {
		size += len(e.Key) + len(e.Val) + entryOverhead
	}
	if len(o.pending.entries)+len(c.entries) > s.maxEntries || o.pendingBytes+size > MaxStateBytes {
		o.pending, o.pendingBytes = nil, 0
		s.refused.Add(1)
		return nil, fmt.Errorf("%w: %s sends more than %d entries or %d bytes", ErrTooMany, from.Name, s.maxEntries, MaxStateBytes)
	}
	o.pending.entries = append(o.pending.entries, c.entries...)
	o.pendingBytes += size
	if c.flags&flagLast == 0 {
		return encodeStatus(statusOK, o.version), nil
	}
	p := o.pending
	o.pending, o.pendingBytes = nil, 0
	tx := &Tx{s: s}
	s.sink.Replace(tx, o.member, p.entries)
	o.version = p.version
	s.syncs.Add(1)
	if p.term > o.term {
		o.term = p.term
		s.notifyMarked()
	}
	s.settle(tx)
	return encodeStatus(statusOK, o.version), nil
}

// originLocked is what is known of a member of the view.
func (s *Store) originLocked(from cloister.Member) (*origin, byte) {
	m, ok := s.view[from.ID]
	if !ok || from.ID == s.self.ID {
		s.refused.Add(1)
		return nil, statusNotInView
	}
	o := s.origins[from.ID]
	if o == nil {
		o = &origin{member: m}
		s.origins[from.ID] = o
	}
	return o, statusOK
}
