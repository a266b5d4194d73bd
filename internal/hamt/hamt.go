// Package hamt is a persistent hash array mapped trie with string keys: an
// immutable map whose lookups take no lock and allocate nothing, and whose
// updates copy only the path from the root to the changed entry.
//
// A Map is never changed once built; a Txn derives a new Map from an old
// one, changing in place only the arrays it made itself, so a batch of
// updates costs about one path copy per distinct subtree rather than one
// per update. Publish the Map a Txn returns (an atomic pointer) and readers
// on any goroutine see either the old map or the new one, whole.
//
// An entry is a leaf or a branch, and a branch's bitmap and children sit in
// the entry itself (64 bytes, one cache line): a lookup touches one line
// per level.
package hamt

import (
	"hash/maphash"
	"iter"
	"math/bits"
	"unsafe"
)

// seed hashes keys; maps are local to a process, so one seed serves all.
var seed = maphash.MakeSeed()

const (
	bitsPerLevel = 5
	fanout       = 1 << bitsPerLevel
	maxShift     = 64 // past this the hash is spent: collision lists
)

// Map is an immutable map from strings to V. The zero Map is empty.
type Map[V any] struct {
	root entry[V] // a branch
	size int
}

// entry is a leaf (kids == nil) or a branch: the children present, in
// slot order, with bitmap saying which of the fanout slots they are (a
// branch past maxShift is a collision list and has no bitmap).
type entry[V any] struct {
	hash   uint64
	key    string
	kids   []entry[V]
	bitmap uint32
	val    V // last: a branch's fields share the first cache line
}

// Len is the number of keys.
func (m *Map[V]) Len() int { return m.size }

// Get returns the value of key. It takes no lock and allocates nothing.
func (m *Map[V]) Get(key string) (v V, ok bool) {
	kids, bm := m.root.kids, m.root.bitmap
	if kids == nil {
		return v, false
	}
	h := maphash.String(seed, key)
	for shift := uint(0); ; shift += bitsPerLevel {
		if shift >= maxShift {
			for i := range kids {
				if kids[i].key == key {
					return kids[i].val, true
				}
			}
			return v, false
		}
		bit := uint32(1) << ((h >> shift) & (fanout - 1))
		if bm&bit == 0 {
			return v, false
		}
		e := &kids[bits.OnesCount32(bm&(bit-1))]
		if e.kids != nil {
			kids, bm = e.kids, e.bitmap
			continue
		}
		if e.hash == h && e.key == key {
			return e.val, true
		}
		return v, false
	}
}

// All yields every key and value, in an order that depends on the hashes.
func (m *Map[V]) All() iter.Seq2[string, V] {
	kids := m.root.kids
	return func(yield func(string, V) bool) { walk(kids, yield) }
}

func walk[V any](kids []entry[V], yield func(string, V) bool) bool {
	for i := range kids {
		e := &kids[i]
		if e.kids != nil {
			if !walk(e.kids, yield) {
				return false
			}
		} else if !yield(e.key, e.val) {
			return false
		}
	}
	return true
}

// Txn builds a new Map from an old one. It is not safe for concurrent use.
type Txn[V any] struct {
	root entry[V]
	size int
	// The arrays this Txn made, by their first element: a few in a list
	// (a single update makes one per level), many in a set.
	owned    []*entry[V]
	ownedSet map[*entry[V]]struct{}
}

// ownedList bounds the list of owned arrays before the set takes over.
const ownedList = 16

func (t *Txn[V]) isOwned(p *entry[V]) bool {
	if t.ownedSet != nil {
		_, ok := t.ownedSet[p]
		return ok
	}
	for _, q := range t.owned {
		if q == p {
			return true
		}
	}
	return false
}

func (t *Txn[V]) addOwned(p *entry[V]) {
	switch {
	case t.ownedSet != nil:
		t.ownedSet[p] = struct{}{}
	case len(t.owned) < ownedList:
		t.owned = append(t.owned, p)
	default:
		t.ownedSet = make(map[*entry[V]]struct{}, 2*ownedList)
		for _, q := range t.owned {
			t.ownedSet[q] = struct{}{}
		}
		t.ownedSet[p] = struct{}{}
		t.owned = nil
	}
}

// Txn starts a transaction on m; m itself never changes.
func (m *Map[V]) Txn() *Txn[V] { return &Txn[V]{root: m.root, size: m.size} }

// Map returns the map built so far. The Txn may go on: it will copy
// again, so the map returned never changes.
func (t *Txn[V]) Map() *Map[V] {
	t.owned, t.ownedSet = t.owned[:0], nil
	return &Map[V]{root: t.root, size: t.size}
}

// Len is the number of keys in the map being built.
func (t *Txn[V]) Len() int { return t.size }

// Get reads the map being built.
func (t *Txn[V]) Get(key string) (V, bool) {
	m := Map[V]{root: t.root}
	return m.Get(key)
}

// Set sets key to val.
func (t *Txn[V]) Set(key string, val V) {
	var added bool
	t.root.kids, t.root.bitmap, added = t.set(t.root.kids, t.root.bitmap, 0, entry[V]{hash: maphash.String(seed, key), key: key, val: val})
	if added {
		t.size++
	}
}

// Delete removes key, if present.
func (t *Txn[V]) Delete(key string) {
	kids, bm, removed := t.del(t.root.kids, t.root.bitmap, 0, maphash.String(seed, key), key)
	if removed {
		t.root.kids, t.root.bitmap = kids, bm
		t.size--
	}
}

// own returns kids if this Txn made its array and it has room for extra
// more, else a copy it may change.
func (t *Txn[V]) own(kids []entry[V], extra int) []entry[V] {
	if cap(kids) > 0 && cap(kids)-len(kids) >= extra {
		if t.isOwned(unsafe.SliceData(kids)) {
			return kids
		}
	}
	return t.fresh(kids, extra)
}

// fresh is a copy of kids, made by this Txn, with room for extra more.
func (t *Txn[V]) fresh(kids []entry[V], extra int) []entry[V] {
	out := make([]entry[V], len(kids), len(kids)+max(extra, 1))
	copy(out, kids)
	t.addOwned(unsafe.SliceData(out))
	return out
}

func (t *Txn[V]) set(kids []entry[V], bm uint32, shift uint, e entry[V]) ([]entry[V], uint32, bool) {
	if shift >= maxShift {
		for i := range kids {
			if kids[i].key == e.key {
				kids = t.own(kids, 0)
				kids[i].val = e.val
				return kids, 0, false
			}
		}
		return append(t.own(kids, 1), e), 0, true
	}
	bit := uint32(1) << ((e.hash >> shift) & (fanout - 1))
	idx := bits.OnesCount32(bm & (bit - 1))
	if bm&bit == 0 {
		kids = append(t.own(kids, 1), entry[V]{})
		copy(kids[idx+1:], kids[idx:])
		kids[idx] = e
		return kids, bm | bit, true
	}
	cur := kids[idx]
	switch {
	case cur.kids != nil:
		sub, sbm, added := t.set(cur.kids, cur.bitmap, shift+bitsPerLevel, e)
		kids = t.own(kids, 0)
		kids[idx].kids, kids[idx].bitmap = sub, sbm
		return kids, bm, added
	case cur.hash == e.hash && cur.key == e.key:
		kids = t.own(kids, 0)
		kids[idx].val = e.val
		return kids, bm, false
	default:
		sub, sbm := t.pair(shift+bitsPerLevel, cur, e)
		kids = t.own(kids, 0)
		kids[idx] = entry[V]{kids: sub, bitmap: sbm}
		return kids, bm, true
	}
}

// pair is a new branch holding two leaves whose hashes agree below shift.
func (t *Txn[V]) pair(shift uint, a, b entry[V]) ([]entry[V], uint32) {
	if shift >= maxShift {
		return append(t.fresh(nil, 2), a, b), 0
	}
	ia, ib := (a.hash>>shift)&(fanout-1), (b.hash>>shift)&(fanout-1)
	switch {
	case ia == ib:
		sub, sbm := t.pair(shift+bitsPerLevel, a, b)
		return append(t.fresh(nil, 1), entry[V]{kids: sub, bitmap: sbm}), 1 << ia
	case ia < ib:
		return append(t.fresh(nil, 2), a, b), 1<<ia | 1<<ib
	default:
		return append(t.fresh(nil, 2), b, a), 1<<ia | 1<<ib
	}
}

// remove deletes kids[i] from an array this Txn owns.
func remove[V any](kids []entry[V], i int) []entry[V] {
	copy(kids[i:], kids[i+1:])
	kids[len(kids)-1] = entry[V]{} // let the garbage collector have it
	return kids[:len(kids)-1]
}

// del removes key below a branch; it returns nil kids for a branch left
// empty.
func (t *Txn[V]) del(kids []entry[V], bm uint32, shift uint, h uint64, key string) ([]entry[V], uint32, bool) {
	if shift >= maxShift {
		for i := range kids {
			if kids[i].key == key {
				if len(kids) == 1 {
					return nil, 0, true
				}
				return remove(t.own(kids, 0), i), 0, true
			}
		}
		return kids, bm, false
	}
	bit := uint32(1) << ((h >> shift) & (fanout - 1))
	if bm&bit == 0 {
		return kids, bm, false
	}
	idx := bits.OnesCount32(bm & (bit - 1))
	cur := kids[idx]
	if cur.kids == nil {
		if cur.hash != h || cur.key != key {
			return kids, bm, false
		}
		if len(kids) == 1 {
			return nil, 0, true
		}
		return remove(t.own(kids, 0), idx), bm &^ bit, true
	}
	sub, sbm, removed := t.del(cur.kids, cur.bitmap, shift+bitsPerLevel, h, key)
	if !removed {
		return kids, bm, false
	}
	switch {
	case sub == nil && len(kids) == 1:
		return nil, 0, true
	case sub == nil:
		return remove(t.own(kids, 0), idx), bm &^ bit, true
	}
	kids = t.own(kids, 0)
	if len(sub) == 1 && sub[0].kids == nil {
		kids[idx] = sub[0] // a lone leaf moves up
	} else {
		kids[idx].kids, kids[idx].bitmap = sub, sbm
	}
	return kids, bm, true
}
