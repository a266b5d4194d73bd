package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/leader"
)

// maxEntries bounds the ledger each node keeps.
const maxEntries = 1000

// App is one node's part of the example: the leader service, a "ticker"
// singleton that appends a line to every member's ledger every Interval,
// and the node's own ledger (a service too), which accepts appends only
// with a term at least the highest it has seen.
type App struct {
	Leader   *leader.Service
	Interval time.Duration
	log      *slog.Logger
	host     cloister.Host

	mu       sync.Mutex
	entries  []string
	rejected int
}

// NewApp returns the example's services for one node.
func NewApp(log *slog.Logger) *App {
	a := &App{Leader: leader.New(leader.Config{}), Interval: 500 * time.Millisecond, log: log}
	if err := a.Leader.Singleton("ticker", a.ticker); err != nil {
		panic(err) // a fresh service has no singleton yet
	}
	return a
}

// Services are what the node's Config.Services needs.
func (a *App) Services() []cloister.Service { return []cloister.Service{a.Leader, a} }

// Name is the ledger service's name.
func (a *App) Name() string { return "ledger" }

// Start registers the ledger's handler before the node joins.
func (a *App) Start(h cloister.Host) error {
	a.host = h
	return h.Handle("ledger.append", a.Leader.Fenced(a.appendEntry))
}

// appendEntry is the ledger: Fenced has already rejected a stale term.
func (a *App) appendEntry(ctx context.Context, from cloister.Member, body []byte) ([]byte, error) {
	term, _ := leader.TermFrom(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, fmt.Sprintf("t%d %s", term, body))
	if len(a.entries) > maxEntries {
		a.entries = a.entries[len(a.entries)-maxEntries:]
	}
	return nil, nil
}

// Entries returns a copy of the ledger.
func (a *App) Entries() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.entries...)
}

// ticker is the singleton: while this node leads, it appends "tick N by
// NAME" to every member's ledger. When its context ends (leadership or
// lease lost), it makes one more append with the term it started at, as
// a write that escaped a slow leader would: the members reject it if a
// newer leader has written since.
func (a *App) ticker(ctx context.Context, term leader.Term) error {
	h := a.host
	self := h.Self().Name
	a.log.Info("singleton started: this node leads", "term", term)
	t := time.NewTicker(a.Interval)
	defer t.Stop()
	for k := 1; ; k++ {
		select {
		case <-ctx.Done():
			a.log.Info("singleton stopped", "term", term, "why", context.Cause(ctx), "err", ctx.Err())
			a.lateWrite(h, term, self)
			return nil
		case <-t.C:
		}
		line := []byte(fmt.Sprintf("tick %d by %s", k, self))
		for _, m := range h.Snapshot().View.Members {
			callCtx, cancel := context.WithTimeout(ctx, a.Interval)
			_, err := a.Leader.Call(callCtx, m, "ledger.append", line)
			cancel()
			if err != nil && !errors.Is(err, context.Canceled) {
				a.log.Warn("append failed", "member", m.Name, "err", err)
			}
		}
	}
}

// lateWrite sends one append with the old term, outside the singleton's
// context, as a write held up in a slow network would arrive: it retries
// for up to lateWriteFor until each member has answered, and reports what
// the members said.
func (a *App) lateWrite(h cloister.Host, term leader.Term, self string) {
	deadline := time.Now().Add(lateWriteFor)
	snap := h.Snapshot()
	for _, m := range snap.View.Members {
		if m.ID == snap.Self.ID {
			continue
		}
		for {
			ctx, cancel := context.WithTimeout(context.Background(), a.Interval)
			_, err := leader.FencedCall(ctx, h, m, "ledger.append", term, []byte("late write by "+self))
			cancel()
			switch {
			case errors.Is(err, leader.ErrStaleTerm):
				a.mu.Lock()
				a.rejected++
				a.mu.Unlock()
				a.log.Info("late write rejected: a newer leader has written", "member", m.Name, "term", term)
			case err == nil:
				a.log.Info("late write accepted: no newer term seen there yet", "member", m.Name, "term", term)
			case time.Now().Before(deadline) && !errors.Is(err, cloister.ErrStopped):
				time.Sleep(a.Interval) // not delivered yet: back off, then retry
				continue
			default:
				a.log.Info("late write not delivered", "member", m.Name, "err", err)
			}
			break
		}
	}
}

// lateWriteFor bounds the retries of a late write.
const lateWriteFor = 10 * time.Second

// Rejected counts this node's late writes that members rejected.
func (a *App) Rejected() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rejected
}
