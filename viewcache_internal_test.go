package cloister

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/cloister-go/cloister/internal/core"
)

// freshView is the conversion publicView must equal: every member
// converted anew, this node's entry showing its view and state.
func freshView(self string, v core.View, state State) View {
	view := viewFromCore(v)
	for i := range view.Members {
		if view.Members[i].ID == self {
			view.Members[i].ViewID, view.Members[i].State, view.Members[i].StateName = ViewID(v.ID), state, state.String()
		}
	}
	return view
}

func testMembers(rng *rand.Rand, n int) []core.Member {
	ms := make([]core.Member, n)
	for i := range ms {
		addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 4747)
		name := "app@" + addr.String()
		ms[i] = core.Member{ID: name + "#1", Name: name, Addr: addr, Incarnation: 1, Weight: 1, View: 7}
		if rng.IntN(3) == 0 {
			ms[i].Roles = []string{"db"}
		}
	}
	return ms
}

// mutate changes one field of m at random, the way a new advert or a new
// incarnation record would.
func mutate(rng *rand.Rand, m *core.Member) {
	switch rng.IntN(9) {
	case 0:
		m.View++
	case 1:
		m.State = State(rng.IntN(6))
	case 2:
		m.Quorum.Term++
	case 3:
		m.Quorum.Accept++
	case 4:
		m.Quorum.Floor++ // not shown: the entry stays as it was
	case 5:
		m.Roles = append(slices.Clone(m.Roles), "cache")
	case 6:
		m.Weight += 0.5
	case 7:
		m.AdvertSeq++ // not shown
	case 8:
		m.Addr = netip.AddrPortFrom(m.Addr.Addr(), m.Addr.Port()+1)
	}
}

// TestPublicViewMatchesAFreshConversion drives the cache through random
// batches as the core makes them (a new slice with some records
// replaced, the same slice again, a new member set, another state) and
// compares every result with a conversion from scratch.
func TestPublicViewMatchesAFreshConversion(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	members := testMembers(rng, 40)
	self := members[3].ID
	n := &Node{self: members[3]}
	v := core.View{ID: 100, Epoch: 1, Members: members}
	state := Rehashing
	reused := 0
	for step := range 5000 {
		switch r := rng.IntN(10); {
		case r < 6: // a batch of adverts: some records replaced in a new slice
			ms := slices.Clone(v.Members)
			for range 1 + rng.IntN(4) {
				mutate(rng, &ms[rng.IntN(len(ms))])
			}
			v.Members = ms
		case r == 6: // another member set (self, index 3, stays in it): a new view
			v = core.View{ID: v.ID + 1, Epoch: v.Epoch + 1, Members: testMembers(rng, 30+rng.IntN(20))}
		case r == 7:
			state = State(rng.IntN(6))
		case r == 8: // the same member set again at a new epoch
			v.Epoch++
			v.Members = slices.Clone(v.Members)
		}
		before := n.views.view.Members
		got := n.publicView(v, state)
		if want := freshView(self, v, state); !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d: the cached conversion differs from a fresh one:\n got %+v\nwant %+v", step, got, want)
		}
		// A reused entry shares its Roles with the previous conversion;
		// a fresh one has a copy of its own.
		for i := range min(len(before), len(got.Members)) {
			if len(got.Members[i].Roles) > 0 && len(before[i].Roles) > 0 && &got.Members[i].Roles[0] == &before[i].Roles[0] {
				reused++
			}
		}
	}
	if reused == 0 {
		t.Fatal("no entry was ever reused: the test does not exercise the cache")
	}
}

// TestSameRecordCoversEveryShownField changes each field of a core member
// in turn (by reflection, so a field added later is covered too) and
// checks that a conversion that reuses entries sees every change a fresh
// conversion shows.
func TestSameRecordCoversEveryShownField(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := testMembers(rng, 5)
	base[2].Roles = []string{"db"}
	fields := reflect.TypeFor[core.Member]()
	for i := range fields.NumField() {
		f := fields.Field(i)
		for _, path := range leafFields(f.Type, []int{i}) {
			n := &Node{self: base[0]}
			v := core.View{ID: 9, Epoch: 1, Members: base}
			n.publicView(v, Ready)
			ms := slices.Clone(base)
			changeField(reflect.ValueOf(&ms[2]).Elem().FieldByIndex(path))
			v.Members = ms
			got, want := n.publicView(v, Ready), freshView(base[0].ID, v, Ready)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("a change of core.Member field %s (index %v) is lost by the cached conversion", f.Name, path)
			}
		}
	}
}

// leafFields lists the index paths of the non-struct fields of t, as
// reached from prefix (netip.AddrPort is one field).
func leafFields(t reflect.Type, prefix []int) [][]int {
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[netip.AddrPort]() {
		return [][]int{prefix}
	}
	var out [][]int
	for i := range t.NumField() {
		out = append(out, leafFields(t.Field(i).Type, append(slices.Clone(prefix), i))...)
	}
	return out
}

// changeField gives v another value of its type.
func changeField(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Uint64, reflect.Uint32, reflect.Uint8, reflect.Uint:
		v.SetUint(v.Uint() + 1)
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Int8:
		v.SetInt(v.Int() + 1)
	case reflect.Float64:
		v.SetFloat(v.Float() + 1)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Slice:
		v.Set(reflect.Append(v, reflect.ValueOf("cache")))
	case reflect.Struct: // netip.AddrPort
		ap := v.Interface().(netip.AddrPort)
		v.Set(reflect.ValueOf(netip.AddrPortFrom(ap.Addr(), ap.Port()+1)))
	default:
		panic("changeField: no change for kind " + v.Kind().String())
	}
}
