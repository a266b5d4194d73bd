package cloister_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

// logRecorder is a slog handler that keeps every record with its attributes,
// those of With included.
type logRecorder struct {
	mu    *sync.Mutex
	lines *[]string
	attrs string
}

func newLogRecorder() *logRecorder { return &logRecorder{mu: &sync.Mutex{}, lines: new([]string)} }

func (r *logRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message + r.attrs)
	rec.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	r.mu.Lock()
	*r.lines = append(*r.lines, b.String())
	r.mu.Unlock()
	return nil
}
func (r *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	out := *r
	for _, a := range as {
		out.attrs += " " + a.String()
	}
	return &out
}
func (r *logRecorder) WithGroup(string) slog.Handler { return r }

func (r *logRecorder) matching(all ...string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range *r.lines {
		ok := true
		for _, s := range all {
			ok = ok && strings.Contains(l, s)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// A node with another secret is named, in the logs and the counters, on
// both sides, at a bounded rate, and no log line holds either secret.
func TestWrongSecretIsNamedOnBothSides(t *testing.T) {
	good := newLogRecorder()
	c := cloistertest.New(t, 2, cloistertest.WithLogger(slog.New(good)))
	addrs := []string{c.Node(0).Self().Addr.String(), c.Node(1).Self().Addr.String()}
	cfg := cloister.LocalConfig()
	cfg.App = "cloistertest"
	otherSecret := cloister.Secret("a-completely-different-secret")
	cfg.Secret = otherSecret
	cfg.Consensus = 3
	sentry, err := staticSentry(addrs)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sentry = sentry
	bad := newLogRecorder()
	cfg.Logger = slog.New(bad)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	intruder, err := cloister.Launch(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer intruder.Stop(context.Background())
	named := func(r *logRecorder, peer string) bool {
		return len(r.matching("peer "+peer+" answers with another secret or app label")) > 0
	}
	_, err = cloistertest.Poll(ctx, func() bool {
		s0, s1 := c.Node(0).Stats().Gossip, c.Node(1).Stats().Gossip
		return intruder.Stats().Gossip.JoinsAuthFailed > 0 && s0.StreamsAuthFailed+s1.StreamsAuthFailed > 0 &&
			(named(bad, addrs[0]) || named(bad, addrs[1])) && named(good, "127.0.0.1")
	})
	if err != nil {
		t.Fatalf("the intruder was not named on both sides: intruder %+v, good %+v / %+v\nintruder log: %q\ngood log: %q",
			intruder.Stats().Gossip, c.Node(0).Stats().Gossip, c.Node(1).Stats().Gossip,
			bad.matching(""), good.matching("membership"))
	}
	// Let it go on for a while: the naming stays at one summary per
	// interval (a minute by default), whatever the join rate.
	time.Sleep(1500 * time.Millisecond)
	elapsed := time.Since(start)
	joins := intruder.Stats().Gossip.JoinsAuthFailed
	namings := len(bad.matching("answers with another secret")) + len(good.matching("answers with another secret"))
	t.Logf("in %v: %d refused joins, %d naming lines in all; intruder: %q", elapsed.Round(time.Millisecond), joins, namings,
		bad.matching("answers with another secret"))
	// Each of the three nodes logs at most one summary now (the first) and
	// one per minute after it, each naming at most 8 peers.
	if namings > 3*8 {
		t.Fatalf("%d naming lines in %v", namings, elapsed)
	}
	// A refused address is paused (1 s, doubling): the intruder no
	// longer joins each peer every discovery round (it made 36 tries in
	// this window before the pause).
	if joins > 6 {
		t.Fatalf("%d refused joins in %v: the refused addresses are not paused", joins, elapsed)
	}
	for _, l := range append(bad.matching(""), good.matching("")...) {
		if strings.Contains(l, string(otherSecret)) || strings.Contains(l, string(cloistertest.Secret())) {
			t.Fatalf("a log line holds a secret: %q", l)
		}
	}
	for i := range 2 {
		if s := c.Node(i).State(); s != cloister.Ready || len(c.Node(i).Members()) != 2 {
			t.Fatalf("node %d: %v with %d members", i, s, len(c.Node(i).Members()))
		}
	}
}
