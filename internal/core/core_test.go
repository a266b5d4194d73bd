package core

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"
)

func member(name string, inc uint64) Member {
	return Member{
		ID:          fmt.Sprintf("%s#%d", name, inc),
		Name:        name,
		Addr:        netip.MustParseAddrPort("127.0.0.1:1"),
		Incarnation: inc,
		Weight:      1,
	}
}

// advertising returns m advertising the view the core would hold with
// members, voting it quorate and accepting it at term 1 (a member of a
// cluster forming for the first time).
func advertising(m Member, view uint64) Member {
	return agreeing(m, view, 1)
}

// agreeing returns m advertising the view, voting it quorate and accepting
// it at the term.
func agreeing(m Member, view, term uint64) Member {
	m.View = view
	m.Quorum = QuorumAdvert{Accept: term, Floor: term, OK: true}
	return m
}

// advertised returns m's next advert: view, with the quorum advert q.
func advertised(m Member, view uint64, q QuorumAdvert) Member {
	m.View, m.Quorum = view, q
	m.AdvertSeq++
	return m
}

func kinds(cs []Change) []string {
	var out []string
	for _, c := range cs {
		switch c := c.(type) {
		case MemberUp:
			out = append(out, "up:"+c.Member.Name)
		case MemberDown:
			out = append(out, "down:"+c.Member.Name+":"+c.Reason.String())
		case ViewChanged:
			out = append(out, "view")
		case StateChanged:
			out = append(out, c.From.String()+"->"+c.To.String())
		}
	}
	return out
}

func TestSingleNodeIsReadyAtStart(t *testing.T) {
	c := New(member("a", 1), 1)
	if got, want := kinds(c.Start()), []string{"down->assembling", "assembling->ready"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Start changes = %v, want %v", got, want)
	}
	if c.State() != Ready {
		t.Fatalf("state = %v, want ready", c.State())
	}
}

func TestTransitions(t *testing.T) {
	a, b, c3 := member("a", 1), member("b", 1), member("c", 1)
	type step struct {
		name string
		do   func(c *Core) []Change
		want []string // all changes, in order
		end  State
	}
	// ids of views the core will hold, computed like the core does.
	vAB := digest([]Member{a, b})
	vABC := digest([]Member{a, b, c3})
	tests := []struct {
		name      string
		consensus int
		steps     []step
	}{
		{
			name: "below consensus stays assembling", consensus: 3,
			steps: []step{
				{"start", (*Core).Start, []string{"down->assembling"}, Assembling},
				{"b joins", func(c *Core) []Change { return c.Join(b) }, []string{"up:b", "view"}, Assembling},
			},
		},
		{
			name: "consensus reached, then agreement", consensus: 2,
			steps: []step{
				{"start", (*Core).Start, []string{"down->assembling"}, Assembling},
				{"b joins with no view", func(c *Core) []Change { return c.Join(b) }, []string{"up:b", "view", "assembling->rehashing"}, Rehashing},
				{"b advertises our view", func(c *Core) []Change { return c.Update(advertising(b, vAB)) }, []string{"rehashing->ready"}, Ready},
			},
		},
		{
			name: "join of an already agreeing member goes straight to ready", consensus: 2,
			steps: []step{
				{"start", (*Core).Start, []string{"down->assembling"}, Assembling},
				{"b joins agreeing", func(c *Core) []Change { return c.Join(advertising(b, vAB)) }, []string{"up:b", "view", "assembling->ready"}, Ready},
			},
		},
		{
			name: "ready, a member joins: rehashing then ready", consensus: 2,
			steps: []step{
				{"start", (*Core).Start, []string{"down->assembling"}, Assembling},
				{"b", func(c *Core) []Change { return c.Join(advertising(b, vAB)) }, []string{"up:b", "view", "assembling->ready"}, Ready},
				{"c joins", func(c *Core) []Change { return c.Join(c3) }, []string{"up:c", "view", "ready->rehashing"}, Rehashing},
				{"b agrees", func(c *Core) []Change { return c.Update(agreeing(b, vABC, 2)) }, nil, Rehashing},
				{"c agrees", func(c *Core) []Change { return c.Update(agreeing(c3, vABC, 2)) }, []string{"rehashing->ready"}, Ready},
			},
		},
		{
			name: "ready, a member fails but consensus holds", consensus: 2,
			steps: []step{
				{"start", (*Core).Start, []string{"down->assembling"}, Assembling},
				{"b", func(c *Core) []Change { return c.Join(advertising(b, vABC)) }, []string{"up:b", "view", "assembling->rehashing"}, Rehashing},
				{"c", func(c *Core) []Change { return c.Join(advertising(c3, vABC)) }, []string{"up:c", "view", "rehashing->ready"}, Ready},
				{"c fails", func(c *Core) []Change { return c.Leave(c3.ID, Failed) }, []string{"down:c:failed", "view", "ready->rehashing"}, Rehashing},
				{"b agrees", func(c *Core) []Change { return c.Update(agreeing(b, vAB, 2)) }, []string{"rehashing->ready"}, Ready},
			},
		},
		{
			name: "ready, a member leaves below consensus: quorum kept, consensus only starts", consensus: 2,
			steps: []step{
				{"start", (*Core).Start, []string{"down->assembling"}, Assembling},
				{"b", func(c *Core) []Change { return c.Join(advertising(b, vAB)) }, []string{"up:b", "view", "assembling->ready"}, Ready},
				// Alone, a commits its view at once, at term 2: it says it
				// left Ready at term 1 before it is Ready at term 2.
				{"b leaves", func(c *Core) []Change { return c.Leave(b.ID, Left) }, []string{"down:b:left", "view", "ready->rehashing", "rehashing->ready"}, Ready},
				{"b back", func(c *Core) []Change { return c.Join(advertising(b, vAB)) }, []string{"up:b", "view", "ready->rehashing"}, Rehashing},
				{"b accepts at the next term", func(c *Core) []Change { return c.Update(agreeing(b, vAB, 3)) }, []string{"rehashing->ready"}, Ready},
			},
		},
		{
			name: "rehashing falls below consensus", consensus: 2,
			steps: []step{
				{"start", (*Core).Start, []string{"down->assembling"}, Assembling},
				{"b", func(c *Core) []Change { return c.Join(b) }, []string{"up:b", "view", "assembling->rehashing"}, Rehashing},
				{"b fails", func(c *Core) []Change { return c.Leave(b.ID, Failed) }, []string{"down:b:failed", "view", "rehashing->assembling"}, Assembling},
			},
		},
		{
			name: "restart replaces the old incarnation at once", consensus: 2,
			steps: []step{
				{"start", (*Core).Start, []string{"down->assembling"}, Assembling},
				{"b1", func(c *Core) []Change { return c.Join(advertising(b, vAB)) }, []string{"up:b", "view", "assembling->ready"}, Ready},
				{"b2 joins", func(c *Core) []Change { return c.Join(member("b", 2)) }, []string{"down:b:replaced", "up:b", "view", "ready->rehashing"}, Rehashing},
				{"b1 declared dead later: no event", func(c *Core) []Change { return c.Leave(b.ID, Failed) }, nil, Rehashing},
			},
		},
		{
			name: "stale older incarnation is ignored", consensus: 1,
			steps: []step{
				{"start", (*Core).Start, []string{"down->assembling", "assembling->ready"}, Ready},
				{"b2", func(c *Core) []Change { return c.Join(member("b", 2)) }, []string{"up:b", "view", "ready->rehashing"}, Rehashing},
				{"b1 gossip arrives late", func(c *Core) []Change { return c.Join(member("b", 1)) }, nil, Rehashing},
			},
		},
		{
			name: "another member with our name never enters the view", consensus: 1,
			steps: []step{
				{"start", (*Core).Start, []string{"down->assembling", "assembling->ready"}, Ready},
				{"impostor", func(c *Core) []Change { return c.Join(member("a", 9)) }, nil, Ready},
			},
		},
		{
			name: "stop from every running state", consensus: 2,
			steps: []step{
				{"stop before start", (*Core).Stop, []string{"down->stopping"}, Stopping},
				{"members still tracked, state kept", func(c *Core) []Change { return c.Join(advertising(b, vAB)) }, []string{"up:b", "view"}, Stopping},
				{"start ignored", (*Core).Start, nil, Stopping},
				{"stopped", (*Core).Stopped, []string{"stopping->stopped"}, Stopped},
				{"joins ignored", func(c *Core) []Change { return c.Join(c3) }, nil, Stopped},
				{"stop again ignored", (*Core).Stop, nil, Stopped},
			},
		},
		{
			name: "stop from ready", consensus: 1,
			steps: []step{
				{"start", (*Core).Start, []string{"down->assembling", "assembling->ready"}, Ready},
				{"stop", (*Core).Stop, []string{"ready->stopping"}, Stopping},
				{"stopped", (*Core).Stopped, []string{"stopping->stopped"}, Stopped},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(a, tt.consensus)
			for _, s := range tt.steps {
				got := kinds(s.do(c))
				if !reflect.DeepEqual(got, s.want) {
					t.Fatalf("%s: changes = %v, want %v", s.name, got, s.want)
				}
				if c.State() != s.end {
					t.Fatalf("%s: state = %v, want %v", s.name, c.State(), s.end)
				}
			}
		})
	}
}

func TestViewIsIndependentOfJoinOrder(t *testing.T) {
	ms := []Member{member("b", 1), member("c", 1), member("d", 7), member("e", 1)}
	c1, c2 := New(member("a", 1), 1), New(member("a", 1), 1)
	for i := range ms {
		c1.Join(ms[i])
		c2.Join(ms[len(ms)-1-i])
	}
	if c1.View().ID != c2.View().ID {
		t.Fatalf("view IDs differ: %x vs %x", c1.View().ID, c2.View().ID)
	}
	if c1.View().Epoch != 5 {
		t.Fatalf("epoch = %d, want 5 (one per change)", c1.View().Epoch)
	}
}

func TestStateStrings(t *testing.T) {
	for s := Down; s <= Stopped; s++ {
		back, ok := ParseState(s.String())
		if !ok || back != s {
			t.Errorf("ParseState(%q) = %v, %v", s.String(), back, ok)
		}
	}
	if State(200).String() != "unknown" || Reason(200).String() != "unknown" {
		t.Error("out-of-range values must print as unknown")
	}
}

func TestMetadataUpdateKeepsViewAndSharedMembers(t *testing.T) {
	a, b := member("a", 1), member("b", 1)
	c := New(a, 2)
	c.Start()
	c.Join(b)
	before := c.View()
	shared := before.Members // what a snapshot taken now would hold

	changes := c.Update(advertising(b, before.ID))
	if got, want := kinds(changes), []string{"rehashing->ready"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("changes = %v, want %v", got, want)
	}
	after := c.View()
	if after.ID != before.ID || after.Epoch != before.Epoch {
		t.Fatalf("view %x epoch %d after a metadata update, want %x epoch %d", after.ID, after.Epoch, before.ID, before.Epoch)
	}
	i := after.index(b.ID)
	if i < 0 || after.Members[i].View != before.ID {
		t.Fatalf("view does not hold b's new advert: %+v", after.Members)
	}
	if j := before.index(b.ID); shared[j].View != 0 {
		t.Fatal("a metadata update modified the member slice of an earlier view")
	}
}

func TestOlderAdvertNeverReplacesNewer(t *testing.T) {
	a, b := member("a", 1), member("b", 1)
	c := New(a, 2)
	c.Start()
	c.Join(b)
	agreed := c.View().ID

	newer := advertising(b, agreed)
	newer.AdvertSeq = 2
	if got, want := kinds(c.Update(newer)), []string{"rehashing->ready"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("newer advert: changes = %v, want %v", got, want)
	}
	older := advertising(b, 12345) // sent before, arriving late
	older.AdvertSeq = 1
	if got := c.Update(older); len(got) != 0 {
		t.Fatalf("older advert: changes = %v, want none", kinds(got))
	}
	if i := c.View().index(b.ID); c.View().Members[i].View != agreed || c.State() != Ready {
		t.Fatalf("older advert replaced the newer: %+v, state %v", c.View().Members[i], c.State())
	}
	same := advertising(b, agreed) // the same advert again, by the other path
	same.AdvertSeq = 2
	if got := c.Update(same); len(got) != 0 {
		t.Fatalf("repeated advert: changes = %v, want none", kinds(got))
	}
}

func TestApplySettlesOncePerBatch(t *testing.T) {
	a := member("a", 1)
	c := New(a, 4)
	c.Start()
	batch := []Input{
		{Kind: Alive, Member: member("b", 1)},
		{Kind: Alive, Member: member("c", 1)},
		{Kind: Alive, Member: member("d", 1)},
		{Kind: Alive, Member: member("b", 1)}, // the same member by the other path
	}
	got := kinds(c.Apply(batch))
	want := []string{"up:b", "up:c", "up:d", "view", "assembling->rehashing"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("changes = %v, want %v", got, want)
	}
	if v := c.View(); len(v.Members) != 4 || v.Epoch != 2 {
		t.Fatalf("view has %d members at epoch %d, want 4 at epoch 2", len(v.Members), v.Epoch)
	}
	agreed := c.View().ID
	var adverts []Input
	for _, name := range []string{"b", "c", "d"} {
		adverts = append(adverts, Input{Kind: Alive, Member: advertising(member(name, 1), agreed)})
	}
	before := c.View().Members
	if got, want := kinds(c.Apply(adverts)), []string{"rehashing->ready"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("adverts: changes = %v, want %v", got, want)
	}
	for _, m := range before {
		if m.View != 0 {
			t.Fatal("adverts modified the member slice of an earlier view")
		}
	}
}

func TestMemberThatJoinsAndDepartsInOneBatchIsNeverSeen(t *testing.T) {
	c := New(member("a", 1), 1)
	c.Start()
	epoch := c.View().Epoch
	b := member("b", 1)
	got := c.Apply([]Input{{Kind: Alive, Member: b}, {Kind: Departed, Member: b}})
	if len(got) != 0 || c.View().Epoch != epoch || c.State() != Ready {
		t.Fatalf("changes = %v, epoch %d (was %d), state %v; want none", kinds(got), c.View().Epoch, epoch, c.State())
	}
}

func TestDepartureReason(t *testing.T) {
	stopping := func(m Member, seq uint64) Member {
		m.State, m.AdvertSeq = Stopping, seq
		return m
	}
	b := member("b", 1)
	tests := []struct {
		name  string
		first []Input // applied before the batch with the departure
		batch []Input
		want  string
	}{
		{"no stopping advert: failed", nil, []Input{{Kind: Departed, Member: b}}, "down:b:failed"},
		{"departure carries stopping", nil, []Input{{Kind: Departed, Member: stopping(b, 1)}}, "down:b:left"},
		{"stopping advert in an earlier batch", []Input{{Kind: Alive, Member: stopping(b, 1)}},
			[]Input{{Kind: Departed, Member: b}}, "down:b:left"},
		{"stopping advert earlier in the same batch", nil,
			[]Input{{Kind: Alive, Member: stopping(b, 1)}, {Kind: Departed, Member: b}}, "down:b:left"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(member("a", 1), 1)
			c.Start()
			c.Apply([]Input{{Kind: Alive, Member: b}})
			c.Apply(tt.first)
			got := kinds(c.Apply(tt.batch))
			if len(got) == 0 || got[0] != tt.want {
				t.Fatalf("changes = %v, want %s first", got, tt.want)
			}
		})
	}
}

// Random joins and departures of several incarnations per name: the view
// always holds the newest incarnation of each name, self's name only for
// self, sorted; and the ups and downs reported turn the old view into the
// new one.
func TestRebuildAgainstASimpleModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	self := member("a", 5)
	c := New(self, 1)
	c.Start()
	live := map[string]Member{self.ID: self}
	for step := range 2000 {
		var batch []Input
		for range 1 + rng.IntN(4) {
			m := member(string(rune('a'+rng.IntN(6))), uint64(1+rng.IntN(3)))
			if rng.IntN(3) == 0 {
				batch = append(batch, Input{Kind: Departed, Member: m})
				if m.ID != self.ID {
					delete(live, m.ID)
				}
			} else {
				batch = append(batch, Input{Kind: Alive, Member: m})
				live[m.ID] = m
			}
		}
		before := map[string]bool{}
		for _, m := range c.View().Members {
			before[m.ID] = true
		}
		changes := c.Apply(batch)

		want := map[string]Member{} // newest incarnation per name
		for _, m := range live {
			if m.Name == self.Name && m.ID != self.ID {
				continue
			}
			if cur, ok := want[m.Name]; !ok || m.Incarnation > cur.Incarnation {
				want[m.Name] = m
			}
		}
		got := c.View().Members
		if len(got) != len(want) || !slices.IsSortedFunc(got, compareMembers) {
			t.Fatalf("step %d: view %v, want the members %v, sorted", step, got, want)
		}
		for _, m := range got {
			if want[m.Name].ID != m.ID {
				t.Fatalf("step %d: view holds %s, want %s", step, m.ID, want[m.Name].ID)
			}
		}
		for _, ch := range changes {
			switch ch := ch.(type) {
			case MemberUp:
				before[ch.Member.ID] = true
			case MemberDown:
				delete(before, ch.Member.ID)
			}
		}
		if len(before) != len(got) {
			t.Fatalf("step %d: ups and downs give %v, view is %v", step, before, got)
		}
		for _, m := range got {
			if !before[m.ID] {
				t.Fatalf("step %d: %s is in the view without an up", step, m.ID)
			}
		}
	}
}
