package hamt

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// A random sequence of sets and deletes, in transactions of random sizes,
// leaves the trie equal to a plain map, and every published map keeps the
// contents it had when published.
func TestAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	want := map[string]int{}
	var m Map[int]
	type frozen struct {
		m    Map[int]
		want map[string]int
	}
	var history []frozen
	for round := range 300 {
		tx := m.Txn()
		for range r.IntN(200) {
			k := strconv.Itoa(r.IntN(3000))
			if r.IntN(3) == 0 {
				tx.Delete(k)
				delete(want, k)
			} else {
				tx.Set(k, round)
				want[k] = round
			}
		}
		m = *tx.Map()
		if round%50 == 0 {
			c := make(map[string]int, len(want))
			for k, v := range want {
				c[k] = v
			}
			history = append(history, frozen{m, c})
		}
	}
	history = append(history, frozen{m, want})
	for _, h := range history {
		if h.m.Len() != len(h.want) {
			t.Fatalf("Len %d, want %d", h.m.Len(), len(h.want))
		}
		for k, v := range h.want {
			if got, ok := h.m.Get(k); !ok || got != v {
				t.Fatalf("Get(%s) = %d, %v; want %d", k, got, ok, v)
			}
		}
		n := 0
		for k, v := range h.m.All() {
			if h.want[k] != v {
				t.Fatalf("All yields %s=%d, want %d", k, v, h.want[k])
			}
			n++
		}
		if n != len(h.want) {
			t.Fatalf("All yields %d keys, want %d", n, len(h.want))
		}
	}
	if _, ok := m.Get("absent"); ok {
		t.Fatal("absent key found")
	}
}

// Collision lists: keys whose hashes agree fully are kept apart by key.
func TestCollisionList(t *testing.T) {
	tx := (&Map[int]{}).Txn()
	a := entry[int]{hash: 42, key: "a", val: 1}
	b := entry[int]{hash: 42, key: "b", val: 2}
	tx.root.kids, tx.root.bitmap = tx.pair(0, a, b)
	tx.size = 2
	kids := tx.root.kids
	for kids[0].kids != nil {
		kids = kids[0].kids
	}
	if len(kids) != 2 {
		t.Fatalf("collision list has %d keys", len(kids))
	}
	sub, _, removed := tx.del(tx.root.kids, tx.root.bitmap, 0, 42, "a")
	if !removed || sub == nil {
		t.Fatal("delete from a collision list failed")
	}
	tx.root.kids = sub
	tx.size--
	if m := tx.Map(); m.Len() != 1 {
		t.Fatalf("Len %d", m.Len())
	}
}

func BenchmarkGet(b *testing.B) {
	tx := (&Map[int]{}).Txn()
	keys := make([]string, 100_000)
	for i := range keys {
		keys[i] = "name-" + strconv.Itoa(i)
		tx.Set(keys[i], i)
	}
	m := tx.Map()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok := m.Get(keys[i%len(keys)]); !ok {
			b.Fatal("missing")
		}
	}
}

func BenchmarkSet(b *testing.B) {
	var m Map[int]
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tx := m.Txn()
		tx.Set("name-"+strconv.Itoa(i%100_000), i)
		m = *tx.Map()
	}
}
