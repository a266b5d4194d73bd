package membership

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultLogInterval is the shortest time between two summaries of
// refused traffic, and the period over which other memberlist log lines are
// limited to logLinesPerInterval.
const DefaultLogInterval = time.Minute

const (
	// logLinesPerInterval bounds the memberlist log lines not recognised as
	// refused traffic that pass through per interval; more are counted and
	// summarised.
	logLinesPerInterval = 30
	// maxNamedPeers bounds the peers named per summary as answering with
	// another secret or app label.
	maxNamedPeers = 8
	// maxSources bounds the distinct (reason, address) pairs counted per
	// interval; beyond, new addresses are counted as "other".
	maxSources = 1024
)

// authKinds are the refusals that mean the peer holds another secret or
// runs another app (or another security mode), as opposed to garbage.
var authKinds = map[string]bool{
	rejectStreamAuth: true, rejectStreamLabel: true, rejectStreamMode: true,
	rejectPacketAuth: true, rejectPacketLabel: true, rejectJoinAuth: true,
}

type sourceKey struct{ kind, source string }

// reporter counts refused traffic by reason and source address and logs
// at most one summary per interval, never a line per packet or stream. It
// also rate-limits memberlist's other log lines. The summaries hold only
// counts, reasons and addresses: nothing a peer sent, nothing derived from
// the secret.
type reporter struct {
	logger   *slog.Logger
	interval time.Duration

	mu         sync.Mutex
	totals     map[string]uint64    // since start, by reason
	pending    map[sourceKey]uint64 // since the last summary
	lines      int                  // other lines passed since the last summary
	suppressed uint64               // other lines dropped since the last summary
	last       time.Time            // the last summary; zero before the first
	since      time.Time            // start of the period the pending counts cover
	timer      *time.Timer          // the next summary, when one is due
	stopped    bool
}

func newReporter(logger *slog.Logger, interval time.Duration) *reporter {
	if interval <= 0 {
		interval = DefaultLogInterval
	}
	return &reporter{logger: logger, interval: interval, since: time.Now(),
		totals: map[string]uint64{}, pending: map[sourceKey]uint64{}}
}

// note counts one refusal of the given kind from source (an address, or
// "" when unknown).
func (r *reporter) note(kind, source string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.totals[kind]++
	k := sourceKey{kind, source}
	if _, ok := r.pending[k]; !ok && len(r.pending) >= maxSources {
		k.source = "other"
	}
	r.pending[k]++
	r.scheduleLocked()
}

// noteAddr is note for a net.Addr; streams are named by IP only, since
// their port is the dialler's ephemeral one.
func (r *reporter) noteAddr(kind string, from net.Addr) {
	src := ""
	if from != nil {
		src = from.String()
		if ap, err := netip.ParseAddrPort(src); err == nil {
			src = ap.Addr().Unmap().String()
		}
	}
	r.note(kind, src)
}

// allowLine reports whether another ordinary log line may pass now: at
// most logLinesPerInterval between two summaries, and summaries are at
// least an interval apart.
func (r *reporter) allowLine() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lines < logLinesPerInterval {
		r.lines++
		return true
	}
	r.suppressed++
	r.totals[suppressedLogLines]++
	r.scheduleLocked() // the summary reopens the budget
	return false
}

// scheduleLocked arranges the next summary: at once when none was logged
// in the last interval, else one interval after the last.
func (r *reporter) scheduleLocked() {
	if r.timer != nil || r.stopped {
		return
	}
	delay := max(0, r.interval-time.Since(r.last))
	r.timer = time.AfterFunc(delay, r.flush)
}

// flush logs what was counted since the last summary.
func (r *reporter) flush() {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	pending, suppressed, period := r.pending, r.suppressed, time.Since(r.since)
	r.pending, r.suppressed, r.lines = map[sourceKey]uint64{}, 0, 0
	r.last = time.Now()
	r.since = r.last
	r.timer = nil
	r.mu.Unlock()
	r.emit(pending, suppressed, period)
}

func (r *reporter) emit(pending map[sourceKey]uint64, suppressed uint64, period time.Duration) {
	period = period.Round(time.Millisecond)
	ctx := context.Background()
	type src struct {
		addr string
		n    uint64
	}
	byKind := map[string][]src{}
	for k, n := range pending {
		byKind[k.kind] = append(byKind[k.kind], src{k.source, n})
	}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	named := 0
	for _, kind := range kinds {
		srcs := byKind[kind]
		slices.SortFunc(srcs, func(a, b src) int { return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.addr, b.addr)) })
		var total uint64
		for _, s := range srcs {
			total += s.n
		}
		top := make([]string, 0, 5)
		for _, s := range srcs[:min(5, len(srcs))] {
			top = append(top, fmt.Sprintf("%s (%d)", cmp.Or(s.addr, "unknown"), s.n))
		}
		r.logger.Log(ctx, slog.LevelWarn,
			fmt.Sprintf("membership: dropped %d %s from %d addresses in the last %s", total, kind, len(srcs), period),
			"component", "memberlist", "reason", kind, "count", total, "addresses", len(srcs), "top", strings.Join(top, ", "))
		if !authKinds[kind] {
			continue
		}
		for _, s := range srcs {
			if named == maxNamedPeers || s.addr == "" || s.addr == "other" {
				break
			}
			named++
			r.logger.Log(ctx, slog.LevelWarn,
				fmt.Sprintf("membership: peer %s answers with another secret or app label", s.addr),
				"component", "memberlist", "peer", s.addr, "reason", kind, "count", s.n)
		}
	}
	if suppressed > 0 {
		r.logger.Log(ctx, slog.LevelWarn,
			fmt.Sprintf("membership: suppressed %d memberlist log lines in the last %s", suppressed, period),
			"component", "memberlist", "count", suppressed)
	}
}

// stop logs what is pending and schedules nothing more.
func (r *reporter) stop() {
	r.mu.Lock()
	r.stopped = true
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	pending, suppressed, period := r.pending, r.suppressed, time.Since(r.since)
	r.pending, r.suppressed = map[sourceKey]uint64{}, 0
	r.mu.Unlock()
	if len(pending) > 0 || suppressed > 0 {
		r.emit(pending, suppressed, period)
	}
}

func (r *reporter) total(kind string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.totals[kind]
}

// logWriter routes memberlist's "[LEVEL] memberlist: ..." lines to slog:
// lines about refused traffic become counts for the reporter's summaries,
// and the others are rate-limited.
type logWriter struct {
	logger *slog.Logger
	rep    *reporter
}

var levelPrefixes = []struct {
	prefix string
	level  slog.Level
}{
	{"[DEBUG]", slog.LevelDebug}, {"[INFO]", slog.LevelInfo}, {"[WARN]", slog.LevelWarn},
	{"[ERR]", slog.LevelError}, {"[ERROR]", slog.LevelError},
}

func (w *logWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	level := slog.LevelInfo
	for _, lp := range levelPrefixes {
		if strings.HasPrefix(line, lp.prefix) {
			level = lp.level
			line = strings.TrimSpace(strings.TrimPrefix(line, lp.prefix))
			break
		}
	}
	if strings.Contains(line, "failed to join") && authFailure(errors.New(line)) {
		return len(p), nil // counted and summarised by Join
	}
	if kind, src, ok := classify(line); ok {
		if w.rep != nil {
			w.rep.note(kind, src)
		}
		return len(p), nil
	}
	// Expected noise, not worth a warning: probes of a previous
	// incarnation at a reused address after a restart (answered by the new
	// process, which refuses them), and sends racing our own shutdown.
	for _, expected := range []string{"Got ping for unexpected node", "Failed fallback TCP ping: EOF", "transport: closed"} {
		if strings.Contains(line, expected) {
			level = slog.LevelDebug
		}
	}
	ctx := context.Background()
	if !w.logger.Enabled(ctx, level) {
		return len(p), nil
	}
	if w.rep != nil && !w.rep.allowLine() {
		return len(p), nil
	}
	w.logger.Log(ctx, level, line, "component", "memberlist")
	return len(p), nil
}

var _ io.Writer = (*logWriter)(nil)

// classify recognises memberlist's log lines about refused packets and
// streams (memberlist v0.7.0's wording; TestClassify pins it) and returns
// the reason and the source address: IP and port for a packet (a member
// sends from its own port), IP only for a stream.
func classify(line string) (kind, source string, ok bool) {
	packet := true
	switch {
	case strings.Contains(line, "Decrypt packet failed"):
		kind = rejectPacketAuth
	case strings.Contains(line, "discarding packet with unacceptable label"):
		kind = rejectPacketLabel
		if strings.Contains(line, `label "":`) {
			kind = rejectPacketBad // no label at all: garbage, not a cluster
		}
	case strings.Contains(line, "failed to remove label header from packet"),
		strings.Contains(line, "unexpected double packet label header"),
		strings.Contains(line, "missing message type byte"),
		strings.Contains(line, "Got invalid checksum for UDP packet"),
		strings.Contains(line, "not supported from="),
		strings.Contains(line, "not supported (packet handler)"):
		kind = rejectPacketBad
	case strings.Contains(line, "handler queue full, dropping message"):
		// Not refused but lost: memberlist hands suspect, dead and user
		// messages (direct adverts) to one queue, and serves alive
		// messages first; under a storm of alive messages the rest is
		// dropped beyond HandoffQueueDepth.
		kind = dropHandlerFull
	case strings.Contains(line, "memberlist: failed to receive:"):
		packet = false
		kind = rejectStreamBad
		if strings.Contains(line, "decrypt") || strings.Contains(line, "not encrypted") || strings.Contains(line, "encryption is not configured") {
			kind = rejectStreamAuth
		}
	case strings.Contains(line, "discarding stream with unacceptable label"):
		packet = false
		kind = rejectStreamLabel
	case strings.Contains(line, "failed to receive and remove the stream label header"),
		strings.Contains(line, "unexpected double stream label header"):
		packet = false
		kind = rejectStreamBad
	default:
		return "", "", false
	}
	if i := strings.LastIndex(line, "from="); i >= 0 {
		tok := line[i+len("from="):]
		if j := strings.IndexAny(tok, " \t"); j >= 0 {
			tok = tok[:j]
		}
		if ap, err := netip.ParseAddrPort(tok); err == nil {
			ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
			if packet {
				source = ap.String()
			} else {
				source = ap.Addr().String()
			}
		}
	}
	return kind, source, true
}
