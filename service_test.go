package cloister_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

// echoService registers a handler in Start.
type echoService struct{ starts atomic.Int32 }

func (s *echoService) Name() string { return "echo" }
func (s *echoService) Start(h cloister.Host) error {
	s.starts.Add(1)
	h.Counter("starts").Add(1)
	return h.Handle("echo.say", func(_ context.Context, _ cloister.Member, req []byte) ([]byte, error) {
		h.Counter("calls").Add(1)
		return req, nil
	})
}

// A service's handlers exist before the node joins: a member that calls
// the handler the moment the new node shows up in its view never gets
// ErrNoHandler.
func TestServiceHandlersExistBeforeJoin(t *testing.T) {
	svc := map[int]*echoService{}
	var mu sync.Mutex
	c := cloistertest.New(t, 1, cloistertest.WithConsensus(1), cloistertest.WithConfig(func(i int, cfg *cloister.Config) {
		mu.Lock()
		defer mu.Unlock()
		svc[i] = &echoService{}
		cfg.Services = append(cfg.Services, svc[i])
	}))
	for round := range 3 {
		known := len(c.Node(0).Members())
		i := c.Add()
		var newcomer cloister.Member
		c.WaitFor("the newcomer in node 0's members", func() bool {
			for _, m := range c.Node(0).Members() {
				if m.ID == c.Node(i).Self().ID {
					newcomer = m
					return true
				}
			}
			return false
		})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		reply, err := c.Node(0).Call(ctx, newcomer, "echo.say", []byte("hi"))
		cancel()
		if err != nil || string(reply) != "hi" {
			t.Fatalf("round %d (%d members known): the first call to the newcomer: %q, %v", round, known, reply, err)
		}
		mu.Lock()
		starts := svc[i].starts.Load()
		mu.Unlock()
		if starts != 1 {
			t.Fatalf("the service started %d times", starts)
		}
		if got := c.Node(i).Stats().Services; got["echo.starts"] != 1 || got["echo.calls"] != 1 {
			t.Fatalf("service counters %v, want echo.starts 1 and echo.calls 1", got)
		}
	}
}

// maxSet is a grow-only map of the largest value each key was given: a
// CRDT, as GossipState requires.
type maxSet struct {
	name      string
	mu        sync.Mutex
	vals      map[string]int
	broadcast func([]byte) error
}

func (s *maxSet) Name() string { return s.name }
func (s *maxSet) Start(h cloister.Host) error {
	b, err := h.Gossip(s)
	s.broadcast = b
	return err
}
func (s *maxSet) Merge(data []byte) {
	var in map[string]int
	if json.Unmarshal(data, &in) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range in {
		s.vals[k] = max(s.vals[k], v)
	}
}
func (s *maxSet) Full() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := json.Marshal(s.vals)
	return b
}
func (s *maxSet) set(k string, v int) error {
	b, err := json.Marshal(map[string]int{k: v})
	if err != nil {
		return err
	}
	s.Merge(b)
	return s.broadcast(b)
}
func (s *maxSet) has(k string, v int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vals[k] == v
}

// The gossip channel: broadcasts reach every member, a member that joins
// later receives the whole state in its state exchange, and a broadcast
// larger than MaxBroadcast is refused with ErrGossip.
func TestServiceGossipChannel(t *testing.T) {
	sets := map[int]*maxSet{}
	var mu sync.Mutex
	get := func(i int) *maxSet {
		mu.Lock()
		defer mu.Unlock()
		return sets[i]
	}
	c := cloistertest.New(t, 3, cloistertest.WithConfig(func(i int, cfg *cloister.Config) {
		mu.Lock()
		defer mu.Unlock()
		sets[i] = &maxSet{name: "maxset", vals: map[string]int{}}
		cfg.Services = append(cfg.Services, sets[i])
	}))
	for i := range 3 {
		if err := get(i).set(string(rune('a'+i)), i+1); err != nil {
			t.Fatal(err)
		}
	}
	c.WaitFor("every broadcast everywhere", func() bool {
		for i := range 3 {
			for k := range 3 {
				if !get(i).has(string(rune('a'+k)), k+1) {
					return false
				}
			}
		}
		return true
	})
	j := c.Add()
	c.WaitFor("the joiner has the whole state without a new broadcast", func() bool {
		for k := range 3 {
			if !get(j).has(string(rune('a'+k)), k+1) {
				return false
			}
		}
		return true
	})
	if err := get(0).broadcast(make([]byte, cloister.MaxBroadcast+1)); !errors.Is(err, cloister.ErrGossip) {
		t.Fatalf("an oversized broadcast: %v, want ErrGossip", err)
	}
}

// lateGossip opens its channel after Start: too late.
type lateGossip struct {
	host chan cloister.Host
}

func (l *lateGossip) Name() string                { return "late" }
func (l *lateGossip) Start(h cloister.Host) error { l.host <- h; return nil }
func (l *lateGossip) Merge([]byte)                {}
func (l *lateGossip) Full() []byte                { return nil }

func TestServiceMisuse(t *testing.T) {
	late := &lateGossip{host: make(chan cloister.Host, 1)}
	c := cloistertest.New(t, 1, cloistertest.WithConfig(func(_ int, cfg *cloister.Config) {
		cfg.Services = append(cfg.Services, late)
	}))
	h := <-late.host
	if _, err := h.Gossip(late); !errors.Is(err, cloister.ErrGossip) {
		t.Fatalf("gossip opened after start: %v, want ErrGossip", err)
	}
	_ = c

	for name, svcs := range map[string][]cloister.Service{
		"nil":       {nil},
		"bad name":  {&namedService{"has space"}},
		"duplicate": {&namedService{"x"}, &namedService{"x"}},
		"built-in":  {&namedService{"monitor"}},
	} {
		cfg := cloister.LocalConfig()
		cfg.Services = svcs
		if err := cfg.Validate(); !errors.Is(err, cloister.ErrInvalidConfig) || !strings.Contains(err.Error(), "Services") {
			t.Fatalf("%s: %v, want an invalid Services", name, err)
		}
	}
}

type namedService struct{ name string }

func (s *namedService) Name() string              { return s.name }
func (s *namedService) Start(cloister.Host) error { return nil }

// failingService fails to start.
type failingService struct{}

func (failingService) Name() string              { return "failing" }
func (failingService) Start(cloister.Host) error { return errors.New("no database") }

// A service that fails to start stops Launch, and leaves nothing running.
func TestServiceStartFailureStopsLaunch(t *testing.T) {
	before := runtime.NumGoroutine()
	cfg := cloister.LocalConfig()
	cfg.Services = []cloister.Service{failingService{}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cloister.Launch(ctx, cfg); err == nil || !strings.Contains(err.Error(), "no database") {
		t.Fatalf("Launch with a failing service: %v", err)
	}
	if _, err := cloistertest.Poll(ctx, func() bool { return runtime.NumGoroutine() <= before }); err != nil {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines left running, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
	}
}

// A member whose Config.Rings differ is reported (event, snapshot, /cluster)
// instead of silently answering Whois differently.
func TestRingConfigMismatchIsReported(t *testing.T) {
	rs := newRecorders(3)
	c := cloistertest.New(t, 3, cloistertest.WithConfig(func(i int, cfg *cloister.Config) {
		cfg.Listeners = append(cfg.Listeners, rs[i])
		if i == 2 {
			cfg.Rings = []cloister.RingConfig{{Name: "workers", Role: "worker"}}
		}
	}))
	odd := c.Node(2).Self()
	c.WaitFor("nodes 0 and 1 report node 2", func() bool {
		for i := range 2 {
			s := c.Node(i).Snapshot()
			if len(s.RingMismatch) != 1 || s.RingMismatch[0] != odd.Name || rs[i].differs(odd.ID) != 1 {
				return false
			}
		}
		return len(c.Node(2).Snapshot().RingMismatch) == 2
	})
	w := httptest.NewRecorder()
	c.Node(0).Handler().ServeHTTP(w, httptest.NewRequest("GET", "/cluster", nil))
	if !strings.Contains(w.Body.String(), `"ring_mismatch"`) || !strings.Contains(w.Body.String(), odd.Name) {
		t.Fatalf("/cluster does not name the member: %s", w.Body.String())
	}
}

var errOutOfStock = errors.New("out of stock")

func init() {
	if err := cloister.RegisterError("test.out-of-stock", errOutOfStock); err != nil {
		panic(err)
	}
}

// An application error registered on both sides matches on the caller.
func TestRegisteredErrorMatchesOnTheCaller(t *testing.T) {
	c := cloistertest.New(t, 2)
	if err := c.Node(1).Handle("stock.take", func(context.Context, cloister.Member, []byte) ([]byte, error) {
		return nil, fmt.Errorf("sku 42: %w", errOutOfStock)
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Node(0).Call(ctx, c.Node(1).Self(), "stock.take", nil)
	var re *cloister.RemoteError
	if !errors.Is(err, errOutOfStock) || !errors.As(err, &re) || re.Message != "sku 42: out of stock" {
		t.Fatalf("call error %v, want one matching errOutOfStock", err)
	}
}

// Across a partition: an update made on one side while it is cut off
// reaches the other side after the heal (the re-merge's state exchange
// carries it, though the broadcast itself was lost).
func TestServiceGossipAcrossAPartition(t *testing.T) {
	sets := map[int]*maxSet{}
	var mu sync.Mutex
	get := func(i int) *maxSet {
		mu.Lock()
		defer mu.Unlock()
		return sets[i]
	}
	c := cloistertest.New(t, 3, cloistertest.WithMemNet(3), cloistertest.WithConfig(func(i int, cfg *cloister.Config) {
		mu.Lock()
		defer mu.Unlock()
		sets[i] = &maxSet{name: "maxset", vals: map[string]int{}}
		cfg.Services = append(cfg.Services, sets[i])
	}))
	c.Partition([]int{0, 1}, []int{2})
	c.WaitFor("node 2 without quorum", func() bool { return c.Node(2).State() == cloister.NoQuorum })
	if err := get(0).set("during", 7); err != nil {
		t.Fatal(err)
	}
	c.WaitFor("the update on the majority side", func() bool { return get(1).has("during", 7) })
	if get(2).has("during", 7) {
		t.Fatal("the update crossed the partition")
	}
	c.Heal()
	c.WaitAllReady()
	c.WaitFor("the update on node 2 after the heal", func() bool { return get(2).has("during", 7) })
}
