package cloister

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-go/cloister/discovery"
	"github.com/cloister-go/cloister/transport"
)

// logRecorder keeps the messages of every record, with their attributes.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	r.mu.Lock()
	r.lines = append(r.lines, b.String())
	r.mu.Unlock()
	return nil
}
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

func (r *logRecorder) matching(s string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// Issue #12, item 12: a node that cannot reach consensus says, at a
// bounded rate, how far it got and what it waits for.
func TestAssemblingNodeLogsProgress(t *testing.T) {
	orig := progressInterval
	progressInterval = 50 * time.Millisecond
	defer func() { progressInterval = orig }()

	var trs []transport.Transport
	var addrs []netip.AddrPort
	for range 2 {
		tr, err := transport.Listen(transport.NetConfig{Bind: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		trs, addrs = append(trs, tr), append(addrs, tr.Addr())
	}
	rec := &logRecorder{}
	var nodes []*Node
	start := time.Now()
	for i, tr := range trs {
		cfg := LocalConfig()
		cfg.Consensus = 3
		cfg.Secret = Secret("progress-test-secret-0123456789")
		cfg.Transport = tr
		cfg.Sentry = discovery.Func(func(context.Context) ([]netip.AddrPort, error) { return addrs, nil })
		if i == 0 {
			cfg.Logger = slog.New(rec)
		}
		n, err := Launch(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	defer func() {
		for _, n := range nodes {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = n.Stop(ctx)
			cancel()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for len(rec.matching("2 of 3 alive")) == 0 {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("no progress line saying 2 of 3 alive; logged:\n%s", strings.Join(rec.matching(""), "\n"))
		}
	}
	lines := rec.matching("not ready")
	elapsed := time.Since(start)
	if max := int(elapsed/progressInterval) + 1; len(lines) > max {
		t.Errorf("%d progress lines in %v, at most %d expected", len(lines), elapsed, max)
	}
	last := lines[len(lines)-1]
	if !strings.Contains(last, "waiting for 1 more member") {
		t.Errorf("progress line %q does not say what it waits for", last)
	}
	t.Logf("%s", last)
}
