package leader

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/cloister-go/cloister"
)

// Term is a cluster term used as a fencing token: the leader of a view
// leads at that view's term (cloister.Snapshot.Term), which never
// decreases and is never the same for two agreed views, so a later leader
// always carries a larger term than any earlier one.
type Term uint64

// String returns the term in decimal.
func (t Term) String() string { return strconv.FormatUint(uint64(t), 10) }

// Errors of the leader package. Both cross the wire: a handler that fails
// with one is seen by its caller as a *cloister.RemoteError that matches
// it with errors.Is.
var (
	// ErrStaleTerm: a fenced call carried a term older than one the
	// callee has already seen, or the caller's own lease on its term has
	// run out. The caller has lost leadership (or is about to learn it).
	ErrStaleTerm = errors.New("leader: stale term")
	// ErrNotLeader: the operation needs this node to lead, and it does
	// not (or it has not held a valid lease since it began to).
	ErrNotLeader = errors.New("leader: not the leader")
	// ErrBadEnvelope: a fenced call's body does not start with a term.
	ErrBadEnvelope = errors.New("leader: fenced call without a term")
)

// The names the errors cross the wire under.
const (
	errNameStaleTerm   = "cloister.leader.stale-term"
	errNameNotLeader   = "cloister.leader.not-leader"
	errNameBadEnvelope = "cloister.leader.bad-envelope"
)

func init() {
	for name, err := range map[string]error{
		errNameStaleTerm: ErrStaleTerm, errNameNotLeader: ErrNotLeader, errNameBadEnvelope: ErrBadEnvelope,
	} {
		if e := cloister.RegisterError(name, err); e != nil {
			panic(e) // a programming error in this package, caught by its tests
		}
	}
}

// StaleTermError is the error of a call rejected for its term. It matches
// ErrStaleTerm. Across the wire only ErrStaleTerm survives (with the text).
type StaleTermError struct {
	Term    Term // the term the call carried
	Highest Term // the highest term the callee had seen
}

func (e *StaleTermError) Error() string {
	return fmt.Sprintf("leader: stale term %d: term %d already seen", e.Term, e.Highest)
}

// Unwrap returns ErrStaleTerm.
func (e *StaleTermError) Unwrap() error { return ErrStaleTerm }

// Wrap prefixes body with term: the envelope of a fenced call. The term
// is a uvarint, so an envelope costs 1 to 10 bytes.
func Wrap(term Term, body []byte) []byte {
	out := make([]byte, 0, binary.MaxVarintLen64+len(body))
	out = binary.AppendUvarint(out, uint64(term))
	return append(out, body...)
}

// Unwrap splits a fenced call's body into its term and the payload (which
// aliases body). A body that does not start with a term is ErrBadEnvelope.
func Unwrap(body []byte) (Term, []byte, error) {
	t, k := binary.Uvarint(body)
	if k <= 0 {
		return 0, nil, ErrBadEnvelope
	}
	return Term(t), body[k:], nil
}

// Fence admits operations whose term is at least the highest it has
// seen, and rejects the others with a *StaleTermError. It is what a
// resource that leaders write to keeps: a register, a lock, a handler.
// The zero value is ready to use; it is safe for concurrent use.
type Fence struct {
	highest atomic.Uint64
	floor   func() Term // an extra lower bound (the node's own term), or nil
}

// Admit admits term if it is at least the highest term seen so far,
// raising the highest to it, or returns a *StaleTermError.
func (f *Fence) Admit(term Term) error {
	if f.floor != nil {
		f.observe(f.floor())
	}
	for {
		h := f.highest.Load()
		if uint64(term) < h {
			return &StaleTermError{Term: term, Highest: Term(h)}
		}
		if uint64(term) == h || f.highest.CompareAndSwap(h, uint64(term)) {
			return nil
		}
	}
}

// Observe raises the highest term seen to term (a term learned another
// way, without an operation to admit).
func (f *Fence) Observe(term Term) { f.observe(term) }

func (f *Fence) observe(term Term) {
	for {
		h := f.highest.Load()
		if uint64(term) <= h || f.highest.CompareAndSwap(h, uint64(term)) {
			return
		}
	}
}

// Highest returns the highest term seen.
func (f *Fence) Highest() Term {
	if f.floor != nil {
		f.observe(f.floor())
	}
	return Term(f.highest.Load())
}

// Handler wraps h so that it serves fenced calls: it reads the term from
// the envelope (see Wrap), rejects a term older than the highest seen
// with ErrStaleTerm (the caller's errors.Is matches it), and passes the
// payload to h with the term in its context (TermFrom).
func (f *Fence) Handler(h cloister.Handler) cloister.Handler {
	return func(ctx context.Context, from cloister.Member, body []byte) ([]byte, error) {
		term, payload, err := Unwrap(body)
		if err != nil {
			return nil, err
		}
		if err := f.Admit(term); err != nil {
			return nil, err
		}
		return h(withTerm(ctx, term), from, payload)
	}
}

// Caller is what makes calls: a *cloister.Node or a cloister.Host.
type Caller interface {
	Call(ctx context.Context, to cloister.Member, name string, req []byte) ([]byte, error)
}

// FencedCall calls name on to with req in an envelope carrying term, for
// a handler wrapped by Fence.Handler or Service.Fenced. A term of 0 is
// taken from ctx (TermFrom); without one it is ErrNotLeader. When ctx is
// a singleton's and its lease has run out, the call is not sent and
// fails with ErrStaleTerm: a leader that wakes from a pause learns that
// it lost before it acts.
func FencedCall(ctx context.Context, c Caller, to cloister.Member, name string, term Term, req []byte) ([]byte, error) {
	if term == 0 {
		t, ok := TermFrom(ctx)
		if !ok {
			return nil, fmt.Errorf("%w: no term given and none in the context", ErrNotLeader)
		}
		term = t
	}
	if err := leaseErr(ctx); err != nil {
		return nil, err
	}
	return c.Call(ctx, to, name, Wrap(term, req))
}

type termKey struct{}

// termSource is what a context carries: a fixed term, or a singleton's
// lease, whose term follows its leader's.
type termSource interface{ currentTerm() Term }

type fixedTerm Term

func (t fixedTerm) currentTerm() Term { return Term(t) }

func withTerm(ctx context.Context, t Term) context.Context {
	return context.WithValue(ctx, termKey{}, termSource(fixedTerm(t)))
}

// TermFrom returns the term a context carries: in a handler wrapped by
// Fence.Handler, the caller's term; in a singleton's context, the term its
// node leads at now (it follows the leader through view changes that keep
// it leader, so it can be newer than the term the singleton started at).
func TermFrom(ctx context.Context) (Term, bool) {
	s, ok := ctx.Value(termKey{}).(termSource)
	if !ok {
		return 0, false
	}
	return s.currentTerm(), true
}

// leaseErr is ErrStaleTerm when ctx is (or derives from) a singleton's
// context whose lease has run out or that was cancelled for losing
// leadership.
func leaseErr(ctx context.Context) error {
	l, ok := ctx.Value(termKey{}).(*runCtx)
	if !ok {
		return nil
	}
	if err := l.Err(); err != nil {
		return fmt.Errorf("%w: this node's lease on term %d ended: %v", ErrStaleTerm, l.currentTerm(), err)
	}
	return nil
}
