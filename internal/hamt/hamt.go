// Package hamt is a persistent hash array mapped trie with string keys: an
// immutable map whose lookups take no lock and allocate nothing, and whose
// updates copy only the path from the root to the changed entry.
//
// A Map is never changed once built; a Txn derives a new Map from an old
// one, mutating in place only the nodes it created itself, so a batch of
// updates costs about one path copy per distinct subtree rather than one
// per update. Publish the Map a Txn returns (an atomic pointer) and readers
// on any goroutine see either the old map or the new one, whole.
package hamt

import (
	"hash/maphash"
	"iter"
	"math/bits"
	"sync/atomic"
)

// seed hashes keys; maps are local to a process, so one seed serves all.
var seed = maphash.MakeSeed()

const (
	bitsPerLevel = 5
	fanout       = 1 << bitsPerLevel
	maxShift     = 64 // past this the hash is spent: collision nodes
)

// Map is an immutable map from strings to V. The zero Map is empty.
type Map[V any] struct {
	root *node[V]
	size int
}

type node[V any] struct {
	bitmap uint32 // which of the fanout slots are present (0 in a collision node)
	edit   uint64 // the Txn that created the node and may still change it
	kids   []entry[V]
}

// entry is a leaf (sub == nil) or a subtree.
type entry[V any] struct {
	hash uint64
	key  string
	val  V
	sub  *node[V]
}

// Len is the number of keys.
func (m Map[V]) Len() int { return m.size }

// Get returns the value of key. It takes no lock and allocates nothing.
func (m Map[V]) Get(key string) (v V, ok bool) {
	n := m.root
	if n == nil {
		return v, false
	}
	h := maphash.String(seed, key)
	for shift := uint(0); ; shift += bitsPerLevel {
		if shift >= maxShift {
			for i := range n.kids {
				if n.kids[i].key == key {
					return n.kids[i].val, true
				}
			}
			return v, false
		}
		bit := uint32(1) << ((h >> shift) & (fanout - 1))
		if n.bitmap&bit == 0 {
			return v, false
		}
		e := &n.kids[bits.OnesCount32(n.bitmap&(bit-1))]
		if e.sub != nil {
			n = e.sub
			continue
		}
		if e.hash == h && e.key == key {
			return e.val, true
		}
		return v, false
	}
}

// All yields every key and value, in an order that depends on the hashes.
func (m Map[V]) All() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		if m.root != nil {
			m.root.walk(yield)
		}
	}
}

func (n *node[V]) walk(yield func(string, V) bool) bool {
	for i := range n.kids {
		e := &n.kids[i]
		if e.sub != nil {
			if !e.sub.walk(yield) {
				return false
			}
		} else if !yield(e.key, e.val) {
			return false
		}
	}
	return true
}

// edits numbers transactions; 0 is no transaction's.
var edits atomic.Uint64

// Txn builds a new Map from an old one. It is not safe for concurrent use.
type Txn[V any] struct {
	root *node[V]
	size int
	edit uint64
}

// Txn starts a transaction on m; m itself never changes.
func (m Map[V]) Txn() *Txn[V] {
	return &Txn[V]{root: m.root, size: m.size, edit: edits.Add(1)}
}

// Map returns the map built so far. The Txn may go on: it will copy
// again, so the map returned never changes.
func (t *Txn[V]) Map() Map[V] {
	t.edit = edits.Add(1)
	return Map[V]{root: t.root, size: t.size}
}

// Len is the number of keys in the map being built.
func (t *Txn[V]) Len() int { return t.size }

// Get reads the map being built.
func (t *Txn[V]) Get(key string) (V, bool) { return Map[V]{root: t.root}.Get(key) }

// Set sets key to val.
func (t *Txn[V]) Set(key string, val V) {
	h := maphash.String(seed, key)
	var added bool
	if t.root == nil {
		t.root = &node[V]{edit: t.edit}
	}
	t.root, added = t.set(t.root, 0, entry[V]{hash: h, key: key, val: val})
	if added {
		t.size++
	}
}

// Delete removes key, if present.
func (t *Txn[V]) Delete(key string) {
	if t.root == nil {
		return
	}
	h := maphash.String(seed, key)
	root, removed := t.del(t.root, 0, h, key)
	if !removed {
		return
	}
	t.size--
	if root == nil {
		root = &node[V]{edit: t.edit}
	}
	t.root = root
}

// own returns n if this transaction made it, else a copy it may change.
func (t *Txn[V]) own(n *node[V]) *node[V] {
	if n.edit == t.edit {
		return n
	}
	kids := make([]entry[V], len(n.kids), len(n.kids)+1)
	copy(kids, n.kids)
	return &node[V]{bitmap: n.bitmap, edit: t.edit, kids: kids}
}

func (t *Txn[V]) set(n *node[V], shift uint, e entry[V]) (*node[V], bool) {
	if shift >= maxShift {
		for i := range n.kids {
			if n.kids[i].key == e.key {
				n = t.own(n)
				n.kids[i].val = e.val
				return n, false
			}
		}
		n = t.own(n)
		n.kids = append(n.kids, e)
		return n, true
	}
	bit := uint32(1) << ((e.hash >> shift) & (fanout - 1))
	idx := bits.OnesCount32(n.bitmap & (bit - 1))
	if n.bitmap&bit == 0 {
		n = t.own(n)
		n.kids = append(n.kids, entry[V]{})
		copy(n.kids[idx+1:], n.kids[idx:])
		n.kids[idx] = e
		n.bitmap |= bit
		return n, true
	}
	cur := n.kids[idx]
	switch {
	case cur.sub != nil:
		sub, added := t.set(cur.sub, shift+bitsPerLevel, e)
		if sub != cur.sub {
			n = t.own(n)
			n.kids[idx].sub = sub
		}
		return n, added
	case cur.hash == e.hash && cur.key == e.key:
		n = t.own(n)
		n.kids[idx].val = e.val
		return n, false
	default:
		n = t.own(n)
		n.kids[idx] = entry[V]{sub: t.pair(shift+bitsPerLevel, cur, e)}
		return n, true
	}
}

// pair is a new subtree holding two leaves whose hashes agree below shift.
func (t *Txn[V]) pair(shift uint, a, b entry[V]) *node[V] {
	if shift >= maxShift {
		return &node[V]{edit: t.edit, kids: []entry[V]{a, b}}
	}
	ia, ib := (a.hash>>shift)&(fanout-1), (b.hash>>shift)&(fanout-1)
	switch {
	case ia == ib:
		return &node[V]{bitmap: 1 << ia, edit: t.edit, kids: []entry[V]{{sub: t.pair(shift+bitsPerLevel, a, b)}}}
	case ia < ib:
		return &node[V]{bitmap: 1<<ia | 1<<ib, edit: t.edit, kids: []entry[V]{a, b}}
	default:
		return &node[V]{bitmap: 1<<ia | 1<<ib, edit: t.edit, kids: []entry[V]{b, a}}
	}
}

// del removes key below n; it returns nil for a node left empty.
func (t *Txn[V]) del(n *node[V], shift uint, h uint64, key string) (*node[V], bool) {
	if shift >= maxShift {
		for i := range n.kids {
			if n.kids[i].key == key {
				if len(n.kids) == 1 {
					return nil, true
				}
				n = t.own(n)
				n.kids = append(n.kids[:i], n.kids[i+1:]...)
				return n, true
			}
		}
		return n, false
	}
	bit := uint32(1) << ((h >> shift) & (fanout - 1))
	if n.bitmap&bit == 0 {
		return n, false
	}
	idx := bits.OnesCount32(n.bitmap & (bit - 1))
	cur := n.kids[idx]
	if cur.sub == nil {
		if cur.hash != h || cur.key != key {
			return n, false
		}
		if len(n.kids) == 1 {
			return nil, true
		}
		n = t.own(n)
		n.kids = append(n.kids[:idx], n.kids[idx+1:]...)
		n.bitmap &^= bit
		return n, true
	}
	sub, removed := t.del(cur.sub, shift+bitsPerLevel, h, key)
	if !removed {
		return n, false
	}
	n = t.own(n)
	switch {
	case sub == nil && len(n.kids) == 1:
		return nil, true
	case sub == nil:
		n.kids = append(n.kids[:idx], n.kids[idx+1:]...)
		n.bitmap &^= bit
	case len(sub.kids) == 1 && sub.kids[0].sub == nil:
		n.kids[idx] = sub.kids[0] // a lone leaf moves up
	default:
		n.kids[idx].sub = sub
	}
	return n, true
}
