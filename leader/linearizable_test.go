package leader_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
	"github.com/cloister-go/cloister/leader"
)

// register is a fenced register: an external resource (a database row)
// every node reaches through its "reg" handler. It admits an operation
// only with a term at least the highest it has seen, atomically with the
// operation itself.
type register struct {
	mu       sync.Mutex
	fence    leader.Fence
	value    int64
	accepted []leader.Term // terms of the accepted writes, in order
	stale    int           // operations rejected for their term
}

const (
	opRead  = 1
	opWrite = 2
)

func (r *register) handle(_ context.Context, _ cloister.Member, body []byte) ([]byte, error) {
	term, payload, err := leader.Unwrap(body)
	if err != nil {
		return nil, err
	}
	if len(payload) != 9 {
		return nil, errors.New("register: bad request")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.fence.Admit(term); err != nil {
		r.stale++
		return nil, err
	}
	if payload[0] == opWrite {
		r.value = int64(binary.BigEndian.Uint64(payload[1:]))
		r.accepted = append(r.accepted, term)
	}
	return binary.BigEndian.AppendUint64(nil, uint64(r.value)), nil
}

// regInput and regOutput are the operations porcupine checks.
type regInput struct {
	write bool
	term  leader.Term
	value int64
}

type regOutput struct {
	status int // 0 ok, 1 rejected as stale, 2 unknown (the reply was lost)
	value  int64
}

type regState struct {
	value   int64
	highest leader.Term
}

// regModel is the register's sequential specification. An operation
// whose reply was lost may or may not have happened.
var regModel = porcupine.NondeterministicModel{
	Init: func() []any { return []any{regState{}} },
	Step: func(state, input, output any) []any {
		st, in, out := state.(regState), input.(regInput), output.(regOutput)
		apply := func() (regState, regOutput) {
			if in.term < st.highest {
				return st, regOutput{status: 1}
			}
			next := regState{value: st.value, highest: in.term}
			if in.write {
				next.value = in.value
			}
			return next, regOutput{value: next.value}
		}
		next, want := apply()
		switch out.status {
		case 2:
			return []any{st, next}
		case 1:
			if want.status == 1 {
				return []any{st}
			}
		default:
			if want.status == 0 && want.value == out.value {
				return []any{next}
			}
		}
		return nil
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(regInput), output.(regOutput)
		op := "read"
		if in.write {
			op = fmt.Sprintf("write(%d)", in.value)
		}
		return fmt.Sprintf("%s@t%d -> %d/%d", op, in.term, out.status, out.value)
	},
}

// history records operations as clients saw them.
type history struct {
	mu     sync.Mutex
	base   time.Time
	ops    []porcupine.Operation
	client int
}

func (h *history) now() int64 { return int64(time.Since(h.base)) }

func (h *history) newClient() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.client++
	return h.client - 1
}

func (h *history) add(op porcupine.Operation) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

func (h *history) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ops)
}

// counter is the singleton under test: it reads the register, then adds
// one to what it holds, over and over, each time through a random member's
// "reg" handler, with the term it leads at.
func counter(node func() *cloister.Node, hist *history, log *runLog, name string, seed uint64) func(ctx context.Context, term leader.Term) error {
	rec := log.singleton(name)
	return func(ctx context.Context, term leader.Term) error {
		runCtx, stop := context.WithCancel(ctx)
		defer stop()
		go func() { _ = rec(runCtx, term) }() // records this run's interval
		rng := rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
		client := hist.newClient()
		n := node()
		var value int64
		first := true
		for ctx.Err() == nil {
			in := regInput{write: !first, value: value + 1}
			t, _ := leader.TermFrom(ctx)
			in.term = t
			req := make([]byte, 9)
			req[0] = opRead
			if in.write {
				req[0] = opWrite
				binary.BigEndian.PutUint64(req[1:], uint64(in.value))
			}
			members := n.Members()
			if len(members) == 0 {
				return errors.New("no members")
			}
			to := members[rng.IntN(len(members))]
			opCtx, cancel := context.WithTimeout(ctx, time.Second)
			call := hist.now()
			reply, err := leader.FencedCall(opCtx, n, to, "reg", t, req)
			ret := hist.now()
			cancel()
			var out regOutput
			var remote *cloister.RemoteError
			switch {
			case err == nil && len(reply) == 8:
				out.value = int64(binary.BigEndian.Uint64(reply))
			case errors.Is(err, leader.ErrStaleTerm) && errors.As(err, &remote):
				out.status = 1
			case errors.Is(err, leader.ErrStaleTerm), errors.Is(err, cloister.ErrNotSent):
				continue // never sent
			default:
				out.status, ret = 2, math.MaxInt64 // may apply any time later
			}
			hist.add(porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
			if out.status != 0 {
				return fmt.Errorf("operation %s: %v", regModel.DescribeOperation(in, out), err)
			}
			value, first = out.value, false
		}
		return nil
	}
}

// TestFencedRegisterLinearizable drives a counter singleton through random
// partitions, pauses, slowed links, kills and heals on the in-memory
// network (six faults per seed, then a heal until 1,000 operations), and checks
// with porcupine that the register's history is linearizable (which also
// says no operation with a stale term was accepted: the model rejects
// them), that accepted writes never go back in term, and that two
// instances of the singleton never ran at once. 20 seeds by default;
// CLOISTER_LEADER_SEEDS sets more.
func TestFencedRegisterLinearizable(t *testing.T) {
	if testing.Short() {
		t.Skip("randomized faults: not in -short")
	}
	seeds := 20
	if v := os.Getenv("CLOISTER_LEADER_SEEDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("CLOISTER_LEADER_SEEDS must be a whole number of at least 1, got %q", v)
		}
		seeds = n
	}
	const opsPerSeed = 1000
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			// The seeds mostly wait for the failure detector: two run at
			// once by default (-parallel is GOMAXPROCS).
			t.Parallel()
			fencedRegisterRun(t, seed, opsPerSeed)
		})
	}
}

func fencedRegisterRun(t *testing.T, seed uint64, ops int) {
	reg := &register{}
	hist := &history{base: time.Now()}
	log := &runLog{}
	var tc *testCluster
	built := make(chan struct{}) // closed once tc is set
	tc = newTestCluster(t, 5, seed+100, func(i int, s *leader.Service) {
		node := func() *cloister.Node { <-built; return tc.Node(i) }
		if err := s.Singleton("counter", counter(node, hist, log, nodeName(i), seed)); err != nil {
			t.Error(err)
		}
	})
	close(built)
	register := func(i int) {
		if err := tc.Node(i).Handle("reg", reg.handle); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		register(i)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	deadline := time.Now().Add(60 * time.Second)
	faults := 0
	var killed []int
	paused := map[int]bool{}
	const faultsPerSeed = 6
	for faults < faultsPerSeed && time.Now().Before(deadline) {
		// Let the counter run a while, then change the faults.
		wait := time.Duration(150+rng.IntN(400)) * time.Millisecond
		timer := time.NewTimer(wait)
		<-timer.C // the nemesis's pace, not a wait for a condition
		faults++
		switch rng.IntN(6) {
		case 0: // a 2|3 partition
			perm := rng.Perm(5)
			tc.Partition(perm[:2], perm[2:])
		case 1: // pause the leader (its process runs, its traffic is held)
			if m, _, ok := tc.svc(perm0(tc)).Leader(); ok {
				if i := tc.indexOf(m.ID); i >= 0 && !paused[i] {
					tc.Pause(i)
					paused[i] = true
				}
			}
		case 2: // kill a node, the leader half the time (at most one dead at a time)
			if len(killed) == 0 {
				i := rng.IntN(5)
				if m, _, ok := tc.svc(perm0(tc)).Leader(); ok && rng.IntN(2) == 0 {
					i = tc.indexOf(m.ID)
				}
				if i >= 0 && !paused[i] {
					tc.Kill(i)
					killed = append(killed, i)
				}
			}
		case 4: // slow the leader's network down (it learns of changes late)
			if m, _, ok := tc.svc(perm0(tc)).Leader(); ok {
				if i := tc.indexOf(m.ID); i >= 0 {
					tc.Delay(i, time.Duration(50+rng.IntN(300))*time.Millisecond, 20*time.Millisecond)
				}
			}
		default: // heal everything (Heal lifts delays and pauses too)
			tc.Heal()
			for i := range paused {
				tc.Unpause(i)
				delete(paused, i)
			}
			for _, i := range killed {
				tc.Restart(i)
				register(i)
			}
			killed = nil
		}
	}
	// Heal, restart the dead, and let the counter reach its operations.
	tc.Heal()
	for i := range paused {
		tc.Unpause(i)
	}
	for _, i := range killed {
		tc.Restart(i)
		register(i)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	_, err := cloistertest.Poll(ctx, func() bool { return hist.len() >= ops })
	cancel()
	if err != nil {
		t.Errorf("only %d operations in %d faults and the heal", hist.len(), faults)
	}
	// Stop the singletons before reading what they recorded.
	var stopping sync.WaitGroup
	for _, n := range tc.Nodes() {
		stopping.Add(1)
		go func() {
			defer stopping.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = n.Stop(ctx)
		}()
	}
	stopping.Wait()
	hist.mu.Lock()
	opsCopy := append([]porcupine.Operation(nil), hist.ops...)
	hist.mu.Unlock()
	res, info := porcupine.CheckOperationsVerbose(regModel.ToModel(), opsCopy, 30*time.Second)
	if res != porcupine.Ok {
		path := fmt.Sprintf("%s/register-seed%d.html", t.TempDir(), seed)
		_ = porcupine.VisualizePath(regModel.ToModel(), info, path)
		t.Errorf("history of %d operations: %s (visualization: %s)", len(opsCopy), res, path)
	}
	reg.mu.Lock()
	for i := 1; i < len(reg.accepted); i++ {
		if reg.accepted[i] < reg.accepted[i-1] {
			t.Errorf("write %d accepted at term %d after one at term %d", i, reg.accepted[i], reg.accepted[i-1])
		}
	}
	log.mu.Lock()
	runs := len(log.runs)
	log.mu.Unlock()
	t.Logf("seed %d: %d operations, %d writes accepted, %d rejected as stale, %d faults, %d singleton runs",
		seed, len(opsCopy), len(reg.accepted), reg.stale, faults, runs)
	reg.mu.Unlock()
	log.checkNoOverlap(t)
}

// perm0 is the first live node, whose service names the leader.
func perm0(tc *testCluster) int {
	live := tc.live()
	if len(live) == 0 {
		return 0
	}
	return live[0]
}
