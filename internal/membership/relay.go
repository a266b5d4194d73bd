package membership

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Adverts in a large view go through relays. Sent straight, every member
// re-advertising after a view change is N datagrams from each of N
// members: at 1,000 members in one process a round of adverts was a
// million datagrams, each decrypted and queued by memberlist in the same
// handler queue as its suspicions, and the suspicions dropped from full
// queues were never refuted. Instead, from RelayFrom live members on, a
// member sends its advert to relayCopies relays only; a relay passes the
// adverts it holds on to every live member together, as many as fit in one
// datagram, one pace (Profile.Pace) after the first arrived. Members are put
// in groups of about relayGroup by a hash of their ID, and every member of
// a group picks the same relays (rendezvous hashing over the view it
// knows), so a relay's batch holds its group's adverts of one view change:
// about relayCopies × N² / relayGroup datagrams a round instead of N².
// The relays need not agree on anything: a relay passes on whatever it is
// asked to, and a member whose view differs from its group's only picks
// other relays. A lost or dead relay costs nothing but speed: the second
// relay has the advert too, and the gossiped copy follows.
const (
	relayKind = 4 // a member's own advert, to be passed on: the body of advertKind
	batchKind = 5 // adverts passed on: batchKind | (uvarint len(id) | id | uvarint len(meta) | meta)...

	// RelayFrom is how many live members (besides this one) a member must
	// know before its adverts go through relays.
	RelayFrom = 128
	// relayGroup is how many members share relays: about as many adverts
	// as fit in one batch.
	relayGroup = 16
	// relayCopies is how many relays each advert goes to.
	relayCopies = 2
	// maxBatchBytes bounds a batch, leaving room in a 1,400-byte datagram
	// for memberlist's framing, the label and encryption.
	maxBatchBytes = 1200
	// maxRelayPending bounds the adverts a relay holds for its next batch;
	// beyond, a request is dropped (its second relay and gossip carry it).
	maxRelayPending = 4096
	// maxRelayRounds bounds the batches being passed on at once; beyond,
	// the next batch waits another pace.
	maxRelayRounds = 8

	// relayWire is the highest memberlist delegate protocol version a node
	// that reads relay requests and batches advertises (DelegateProtocolMax;
	// the version it speaks stays 0, so older nodes still accept it). A
	// node from before relays advertises 0: it is never picked as a relay,
	// gets no batch, and gets every advert straight instead.
	relayWire = 1
)

// relayer passes the adverts it is asked to relay on to every live member,
// in batches. Its sends run on timers, each turn bounded, and stop with it.
type relayer struct {
	send  func(to Member, msg []byte) // one datagram; failures are left to gossip
	peers func() []Member             // the live members but self

	mu        sync.Mutex
	pace      time.Duration     // the wait before a batch goes, and between two sets of receivers
	receivers int               // members sent a batch at once: MaxDirectAdverts
	pending   map[string][]byte // adverts for the next batch, by member ID
	flush     *time.Timer       // the next batch's departure, or nil
	rounds    int               // batches being passed on
	stopped   bool

	relayed  atomic.Uint64 // adverts passed on
	batches  atomic.Uint64 // batch datagrams sent
	overflow atomic.Uint64 // requests dropped: the next batch was full
}

func newRelayer(send func(Member, []byte), peers func() []Member, pace time.Duration) *relayer {
	return &relayer{send: send, peers: peers, pace: pace, receivers: MaxDirectAdverts, pending: map[string][]byte{}}
}

// add takes a member's advert for the next batch; a newer advert of the
// same member replaces one not passed on yet.
func (r *relayer) add(id string, meta []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	if _, ok := r.pending[id]; !ok && len(r.pending) >= maxRelayPending {
		r.overflow.Add(1)
		return
	}
	r.pending[id] = meta
	if r.flush == nil {
		r.flush = time.AfterFunc(r.pace, r.flushPending)
	}
}

// flushPending starts passing the pending adverts on.
func (r *relayer) flushPending() {
	r.mu.Lock()
	r.flush = nil
	if r.stopped || len(r.pending) == 0 {
		r.mu.Unlock()
		return
	}
	if r.rounds >= maxRelayRounds {
		r.flush = time.AfterFunc(r.pace, r.flushPending)
		r.mu.Unlock()
		return
	}
	batches := encodeBatches(r.pending)
	r.relayed.Add(uint64(len(r.pending)))
	clear(r.pending)
	r.rounds++
	r.mu.Unlock()
	to := slices.DeleteFunc(r.peers(), func(p Member) bool { return p.older })
	rand.Shuffle(len(to), func(i, j int) { to[i], to[j] = to[j], to[i] })
	r.pass(batches, to)
}

// pass sends the batches to the next receivers and schedules the rest one
// pace later.
func (r *relayer) pass(batches [][]byte, to []Member) {
	r.mu.Lock()
	stopped, n, pace := r.stopped, min(len(to), r.receivers), r.pace
	if stopped || n == len(to) {
		r.rounds--
	}
	r.mu.Unlock()
	if stopped {
		return
	}
	for _, p := range to[:n] {
		for _, b := range batches {
			r.send(p, b)
			r.batches.Add(1)
		}
	}
	if rest := to[n:]; len(rest) > 0 {
		time.AfterFunc(pace, func() { r.pass(batches, rest) })
	}
}

// stop drops what is pending; a round under way ends at its next turn.
func (r *relayer) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.flush != nil {
		r.flush.Stop()
		r.flush = nil
	}
	clear(r.pending)
}

// duration is how long a batch takes to reach n members: the wait for its
// group's adverts, then one pace per set of receivers.
func (r *relayer) duration(n int) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pace * time.Duration(1+(n+r.receivers-1)/r.receivers)
}

// encodeBatches packs adverts into as few batches as maxBatchBytes allows.
func encodeBatches(adverts map[string][]byte) [][]byte {
	var out [][]byte
	var b []byte
	for id, meta := range adverts {
		entry := 2*binary.MaxVarintLen16 + len(id) + len(meta)
		if b != nil && len(b)+entry > maxBatchBytes {
			out, b = append(out, b), nil
		}
		if b == nil {
			b = append(make([]byte, 0, maxBatchBytes), batchKind)
		}
		b = appendID(b, id)
		b = binary.AppendUvarint(b, uint64(len(meta)))
		b = append(b, meta...)
	}
	if b != nil {
		out = append(out, b)
	}
	return out
}

// decodeBatch calls each with every advert of a batch, in order, until an
// entry is unreadable; the metadata handed over is a copy.
func decodeBatch(b []byte, each func(id string, meta []byte)) error {
	if len(b) < 1 || b[0] != batchKind {
		return fmt.Errorf("%w: not a batch", errBadAdvert)
	}
	b = b[1:]
	for len(b) > 0 {
		id, rest, ok := readID(b)
		if !ok {
			return fmt.Errorf("%w: bad id length in batch", errBadAdvert)
		}
		b = rest
		n, k := binary.Uvarint(b)
		if k <= 0 || n > MaxMetaSize || n > uint64(len(b)-k) {
			return fmt.Errorf("%w: bad metadata length in batch", errBadAdvert)
		}
		each(id, append([]byte(nil), b[k:k+int(n)]...))
		b = b[k+int(n):]
	}
	return nil
}

// pickRelays returns the relays of member self among the live members
// peers (self excluded): the relayCopies members, self among the
// candidates, that score highest for self's group; members from before
// relays are never picked. viaSelf reports that
// self is one of them (it then relays its own advert).
func pickRelays(self string, peers []Member) (relays []Member, viaSelf bool) {
	groups := max(1, (len(peers)+1)/relayGroup)
	group := mix64(hashID(self)) % uint64(groups)
	type pick struct {
		score uint64
		at    int // index in peers; -1 is self
	}
	var best [relayCopies]pick
	consider := func(id string, at int) {
		p := pick{score: mix64(hashID(id) ^ mix64(group+1)), at: at}
		for i := range best {
			if p.score > best[i].score {
				copy(best[i+1:], best[i:len(best)-1])
				best[i] = p
				return
			}
		}
	}
	for i := range best {
		best[i].at = -2 // none
	}
	consider(self, -1)
	for i, p := range peers {
		if !p.older {
			consider(p.ID, i)
		}
	}
	for _, b := range best {
		switch {
		case b.at == -1:
			viaSelf = true
		case b.at >= 0:
			relays = append(relays, peers[b.at])
		}
	}
	return relays, viaSelf
}

// hashID is FNV-1a of a member ID: the same on every member. Written out:
// hash/fnv allocated twice per member, and every advert hashes the view.
func hashID(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * 1099511628211
	}
	return h
}

// mix64 is SplitMix64's finalizer: FNV's low bits alone group poorly.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
