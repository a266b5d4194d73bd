package leader

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
)

// A run context reads the lease when asked: once the lease has run out,
// Err reports it and Done is closed, without any timer having fired, and
// a fenced call through it is refused before it is sent.
func TestRunContextEndsWithItsLease(t *testing.T) {
	var cell leaseCell
	cell.extend(time.Now().Add(time.Hour), 4)
	rc := newRunCtx(&cell)
	if rc.Err() != nil {
		t.Fatal("a valid lease: context done")
	}
	if term, ok := TermFrom(rc); !ok || term != 4 {
		t.Fatalf("TermFrom: %d, %v", term, ok)
	}
	cell.extend(time.Now().Add(2*time.Hour), 5) // a renewal at a newer term
	if term, _ := TermFrom(rc); term != 5 {
		t.Fatalf("after a renewal at term 5, TermFrom says %d", term)
	}
	cell.p.Store(&lease{until: time.Now().Add(-time.Millisecond), term: 5}) // as after a pause
	err := rc.Err()
	if !errors.Is(err, context.Canceled) || !errors.Is(err, errLeaseEnded) {
		t.Fatalf("an expired lease: Err = %v", err)
	}
	select {
	case <-rc.Done():
	default:
		t.Fatal("an expired lease: Done not closed")
	}
	sent := false
	caller := callerFunc(func(context.Context, cloister.Member, string, []byte) ([]byte, error) {
		sent = true
		return nil, nil
	})
	if _, err := FencedCall(rc, caller, cloister.Member{}, "x", 0, nil); !errors.Is(err, ErrStaleTerm) || sent {
		t.Fatalf("a fenced call on an expired lease: %v, sent %v", err, sent)
	}
}

type callerFunc func(context.Context, cloister.Member, string, []byte) ([]byte, error)

func (f callerFunc) Call(ctx context.Context, to cloister.Member, name string, req []byte) ([]byte, error) {
	return f(ctx, to, name, req)
}

func TestLeaseNeverGoesBackInTerm(t *testing.T) {
	var cell leaseCell
	now := time.Now()
	cell.extend(now.Add(time.Second), 7)
	cell.extend(now.Add(time.Hour), 6) // a late round of an older term
	if l := cell.load(); l.term != 7 || !l.until.Equal(now.Add(time.Second)) {
		t.Fatalf("lease %+v", l)
	}
	cell.extend(now.Add(time.Millisecond), 7) // an earlier end at the same term
	if l := cell.load(); !l.until.Equal(now.Add(time.Second)) {
		t.Fatalf("lease shortened: %+v", l)
	}
}
