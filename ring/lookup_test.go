package ring

import (
	"errors"
	"slices"
	"testing"
)

func TestLookupsDoNotAllocate(t *testing.T) {
	r := mustNew(t, nodes(50))
	key, skey := []byte("some-key"), "some-key"
	buf := make([]Member, 0, 40)
	few := mustNew(t, nodes(2))
	checks := map[string]func(){
		"Owner":       func() { _, _ = r.Owner(key) },
		"OwnerString": func() { _, _ = r.OwnerString(skey) },
		"AppendOwnersN small": func() {
			_, _ = r.AppendOwnersN(buf[:0], key, 3)
		},
		"AppendOwnersNString large": func() {
			_, _ = r.AppendOwnersNString(buf[:0], skey, 40)
		},
		"AppendOwnersN too few": func() {
			_, _ = few.AppendOwnersN(buf[:0], key, 3)
		},
	}
	for name, f := range checks {
		if a := testing.AllocsPerRun(100, f); a != 0 {
			t.Errorf("%s: %v allocs", name, a)
		}
	}
}

func TestOwnersN(t *testing.T) {
	for _, n := range []int{1, 5, 40} {
		r := mustNew(t, nodes(n), WithSlots(1<<12))
		for _, k := range testKeys(300) {
			owner, _ := r.OwnerString(k)
			for _, want := range []int{1, 3, n, 17, n + 2} {
				list, err := r.OwnersNString(k, want)
				if want > n {
					if !errors.Is(err, ErrTooFew) || len(list) != n {
						t.Fatalf("n=%d want=%d: %d members, err %v", n, want, len(list), err)
					}
				} else if err != nil || len(list) != want {
					t.Fatalf("n=%d want=%d: %d members, err %v", n, want, len(list), err)
				}
				if list[0] != owner {
					t.Fatalf("first of OwnersN %v != Owner %v", list[0], owner)
				}
				seen := map[string]bool{}
				for _, m := range list {
					if seen[m.ID] || !r.Contains(m.ID) {
						t.Fatalf("list %v has a duplicate or stranger", list)
					}
					seen[m.ID] = true
				}
				// Shorter lists are prefixes of longer ones.
				if shorter := min(want-1, n); shorter > 0 {
					short, _ := r.OwnersNString(k, shorter)
					if !slices.Equal(short, list[:shorter]) {
						t.Fatalf("%v is not a prefix of %v", short, list)
					}
				}
				bl, _ := r.OwnersN([]byte(k), want)
				if !slices.Equal(bl, list) {
					t.Fatalf("OwnersN and OwnersNString differ: %v %v", bl, list)
				}
			}
		}
	}
}

func TestAppendOwnersNKeepsPrefix(t *testing.T) {
	r := mustNew(t, nodes(5))
	dst := []Member{{ID: "existing"}}
	got, err := r.AppendOwnersNString(dst, "k", 2)
	if err != nil || len(got) != 3 || got[0].ID != "existing" {
		t.Fatalf("got %v, %v", got, err)
	}
	if got, err := r.AppendOwnersNString(dst, "k", 0); err != nil || len(got) != 1 {
		t.Fatalf("n=0: got %v, %v", got, err)
	}
	if got, err := r.OwnersNString("k", -1); err != nil || len(got) != 0 {
		t.Fatalf("n=-1: got %v, %v", got, err)
	}
}

// A member that owns no slot (its single point lost every contest) is
// still listed, last, when all members are asked for.
func TestOwnersNIncludesSlotlessMembers(t *testing.T) {
	ms := append(nodes(30), Member{ID: "tiny", Weight: 1e-9})
	for _, slots := range []int{MinSlots, 1 << 12} {
		r := mustNew(t, ms, WithSlots(slots))
		if slots == MinSlots && slotCounts(r)["tiny"] != 0 {
			t.Fatal("tiny member owns slots; the test needs one that does not")
		}
		for _, n := range []int{len(ms), len(ms) - 14} { // large and small paths
			list, err := r.OwnersNString("k", n)
			if err != nil || len(list) != n {
				t.Fatalf("got %d, %v", len(list), err)
			}
		}
		all, _ := r.OwnersNString("k", len(ms))
		found := false
		for _, m := range all {
			found = found || m.ID == "tiny"
		}
		if !found {
			t.Fatalf("tiny member missing from %v", all)
		}
	}
}

// With bounded load the preference list still starts with the owner.
func TestOwnersNBounded(t *testing.T) {
	r := mustNew(t, nodes(20), WithBoundedLoad(0))
	for _, k := range testKeys(500) {
		o, _ := r.OwnerString(k)
		l, _ := r.OwnersNString(k, 3)
		if l[0] != o {
			t.Fatalf("%v vs %v", l[0], o)
		}
	}
}
