package ring

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func TestNewRejectsInvalidMembers(t *testing.T) {
	cases := []struct {
		name    string
		members []Member
		want    error
		index   int
	}{
		{"empty ID", []Member{{ID: "a"}, {ID: ""}}, ErrInvalidMember, 1},
		{"negative weight", []Member{{ID: "a", Weight: -1}}, ErrInvalidMember, 0},
		{"NaN weight", []Member{{ID: "a"}, {ID: "b", Weight: math.NaN()}}, ErrInvalidMember, 1},
		{"infinite weight", []Member{{ID: "a", Weight: math.Inf(1)}}, ErrInvalidMember, 0},
		{"weight above max", []Member{{ID: "a", Weight: MaxWeight + 1}}, ErrInvalidMember, 0},
		{"duplicate", []Member{{ID: "b"}, {ID: "a"}, {ID: "b", Weight: 2}}, ErrDuplicateMember, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.members)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			var me *MemberError
			if !errors.As(err, &me) {
				t.Fatalf("err %T is not a *MemberError", err)
			}
			if me.Index != c.index || me.ID != c.members[c.index].ID {
				t.Errorf("MemberError points at %d %q, want %d %q", me.Index, me.ID, c.index, c.members[c.index].ID)
			}
		})
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	for _, o := range []Option{
		WithSlots(0), WithSlots(MinSlots - 1), WithSlots(3 * MinSlots), WithSlots(2 * MaxSlots),
		WithBoundedLoad(-0.1), WithBoundedLoad(math.NaN()), WithBoundedLoad(math.Inf(1)),
	} {
		if _, err := New(nodes(3), o); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("err = %v, want ErrInvalidOption", err)
		}
	}
	if _, err := New(make([]Member, MaxMembers+1)); !errors.Is(err, ErrTooManyMembers) {
		t.Errorf("err = %v, want ErrTooManyMembers", err)
	}
}

func TestEmptyRing(t *testing.T) {
	empty := mustNew(t, nil)
	for _, r := range []*Ring{nil, empty} {
		if _, err := r.Owner([]byte("k")); !errors.Is(err, ErrEmpty) {
			t.Errorf("Owner: %v", err)
		}
		if _, err := r.OwnerString("k"); !errors.Is(err, ErrEmpty) {
			t.Errorf("OwnerString: %v", err)
		}
		if got, err := r.OwnersNString("k", 2); !errors.Is(err, ErrEmpty) || len(got) != 0 {
			t.Errorf("OwnersNString = %v, %v", got, err)
		}
		if _, err := r.SlotOwner(0); !errors.Is(err, ErrEmpty) {
			t.Errorf("SlotOwner: %v", err)
		}
		if r.Len() != 0 || r.Members() != nil && len(r.Members()) != 0 || r.Contains("a") {
			t.Errorf("empty ring reports members")
		}
		if r.Slots() != DefaultSlots {
			t.Errorf("Slots = %d", r.Slots())
		}
	}
	if nilSum, emptySum := (*Ring)(nil).Checksum(), empty.Checksum(); nilSum != emptySum {
		t.Errorf("nil ring checksum %#x != empty ring checksum %#x", nilSum, emptySum)
	}
}

func TestAccessors(t *testing.T) {
	in := []Member{{ID: "c", Weight: 2}, {ID: "a"}, {ID: "b", Weight: 0.5}}
	r := mustNew(t, in, WithEpoch(42), WithSlots(1<<10))
	want := []Member{{ID: "a", Weight: 1}, {ID: "b", Weight: 0.5}, {ID: "c", Weight: 2}}
	if got := r.Members(); !slices.Equal(got, want) {
		t.Errorf("Members = %v, want %v", got, want)
	}
	r.Members()[0].ID = "mutated"
	if r.Members()[0].ID != "a" {
		t.Error("Members exposes the ring's own slice")
	}
	if in[1].Weight != 0 || in[0].ID != "c" {
		t.Error("New modified its input")
	}
	if r.Len() != 3 || r.Epoch() != 42 || r.Slots() != 1<<10 {
		t.Errorf("Len %d Epoch %d Slots %d", r.Len(), r.Epoch(), r.Slots())
	}
	if !r.Contains("b") || r.Contains("d") {
		t.Error("Contains")
	}
	for _, k := range testKeys(100) {
		s := r.SlotString(k)
		if s != r.Slot([]byte(k)) || s < 0 || s >= r.Slots() {
			t.Fatalf("slot %d of %q", s, k)
		}
		o, _ := r.OwnerString(k)
		so, _ := r.SlotOwner(s)
		if o != so {
			t.Fatalf("OwnerString(%q) = %v, SlotOwner(%d) = %v", k, o, s, so)
		}
	}
}

func TestSlotOwnerPanicsOutOfRange(t *testing.T) {
	for _, r := range []*Ring{mustNew(t, nodes(2)), mustNew(t, nil)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			_, _ = r.SlotOwner(r.Slots())
		}()
	}
}

// A weight of 0 is the default weight 1: both spell the same ring.
func TestZeroWeightIsDefault(t *testing.T) {
	a := mustNew(t, []Member{{ID: "x"}, {ID: "y"}})
	b := mustNew(t, []Member{{ID: "x", Weight: 1}, {ID: "y", Weight: 1}})
	if a.Checksum() != b.Checksum() {
		t.Error("zero weight differs from weight 1")
	}
}

func TestSingleMemberOwnsEverything(t *testing.T) {
	r := mustNew(t, []Member{{ID: "only", Weight: 0.001}})
	if c := slotCounts(r); c["only"] != r.Slots() {
		t.Errorf("counts %v", c)
	}
}
