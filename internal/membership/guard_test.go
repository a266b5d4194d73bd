package membership

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-go/cloister/transport"
)

func streamPrefix(label string, typ byte, size uint32) []byte {
	b := append([]byte{mlHasLabelMsg, byte(len(label))}, label...)
	b = append(b, typ)
	return binary.BigEndian.AppendUint32(b, size)
}

// TestEmptyStreamIsNotMalformed: a port check (connect, close) is not
// garbage, and is not logged as such.
func TestEmptyStreamIsNotMalformed(t *testing.T) {
	g := newStreamGuard("cloister/app", true)
	if _, _, err := g.parsePrefix(bytes.NewReader(nil)); err != errStreamEmpty {
		t.Fatalf("got %v, want errStreamEmpty", err)
	}
}

func TestParsePrefix(t *testing.T) {
	g := newStreamGuard("cloister/app", true)
	for _, tc := range []struct {
		name  string
		in    []byte
		kind  string // "" when accepted
		claim int64
	}{
		{"encrypted", streamPrefix("cloister/app", mlEncryptMsg, 1000), "", 1000},
		{"largest", streamPrefix("cloister/app", mlEncryptMsg, MaxGossipStreamBody), "", MaxGossipStreamBody},
		{"too large", streamPrefix("cloister/app", mlEncryptMsg, MaxGossipStreamBody+1), rejectStreamLarge, 0},
		{"memberlist's limit", streamPrefix("cloister/app", mlEncryptMsg, 20<<20-1), rejectStreamLarge, 0},
		{"other label", streamPrefix("cloister/oth", mlEncryptMsg, 10), rejectStreamLabel, 0},
		{"no label", append([]byte{mlEncryptMsg, 0, 0, 0, 10}, make([]byte, 20)...), rejectStreamLabel, 0},
		{"plaintext push/pull", streamPrefix("cloister/app", mlPushPullMsg, 10), rejectStreamMode, 0},
		{"truncated", streamPrefix("cloister/app", mlEncryptMsg, 10)[:15], rejectStreamBad, 0},
		{"one byte", []byte("c"), rejectStreamBad, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if tc.kind == "" {
				in = append(in, "body"...)
			}
			prefix, claim, err := g.parsePrefix(bytes.NewReader(in))
			if tc.kind == "" {
				if err != nil || claim != tc.claim || !bytes.Equal(prefix, tc.in) {
					t.Fatalf("got %q, %d, %v; want the prefix, %d", prefix, claim, err, tc.claim)
				}
				return
			}
			var pe *errPrefix
			if !errors.As(err, &pe) || pe.kind != tc.kind {
				t.Fatalf("got %v, want a refusal for %s", err, tc.kind)
			}
		})
	}
	plain := newStreamGuard("l", false)
	if _, claim, err := plain.parsePrefix(bytes.NewReader(streamPrefix("l", mlPushPullMsg, 0))); err != nil || claim != 0 {
		t.Fatalf("plaintext push/pull without a key: %d, %v", claim, err)
	}
	if _, _, err := plain.parsePrefix(bytes.NewReader(streamPrefix("l", 200, 0))); err == nil {
		t.Fatal("unknown message type accepted")
	}
}

// FuzzStreamPrefix: whatever a stream starts with, the guard reads at most
// the prefix, never accepts a claim above the limit or another label, and
// an accepted prefix is replayed byte for byte.
func FuzzStreamPrefix(f *testing.F) {
	f.Add(streamPrefix("cloister/app", mlEncryptMsg, 100), true)
	f.Add(streamPrefix("cloister/app", mlEncryptMsg, 20<<20), true)
	f.Add(streamPrefix("cloister/app", mlPushPullMsg, 0), false)
	f.Add([]byte{mlHasLabelMsg}, true)
	f.Fuzz(func(t *testing.T, in []byte, encrypted bool) {
		g := newStreamGuard("cloister/app", encrypted)
		r := bytes.NewReader(in)
		prefix, claim, err := g.parsePrefix(r)
		if len(in)-r.Len() > len(g.label)+5 {
			t.Fatalf("read %d bytes for a prefix", len(in)-r.Len())
		}
		if err == errStreamEmpty {
			if len(in) != 0 {
				t.Fatalf("input %q read as an empty stream", in)
			}
			return
		}
		if err != nil {
			var pe *errPrefix
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a refusal", err)
			}
			return
		}
		if !bytes.HasPrefix(in, prefix) || !bytes.HasPrefix(prefix, g.label) {
			t.Fatalf("prefix %q not the input's start %q", prefix, in)
		}
		if claim < 0 || claim > MaxGossipStreamBody || (!encrypted && claim != 0) {
			t.Fatalf("claim %d accepted", claim)
		}
		c := &guardedConn{Conn: fakeConn{r}, prefix: prefix, release: func() {}}
		got, _ := io.ReadAll(c)
		if !bytes.Equal(got, in) {
			t.Fatalf("replayed %q, want %q", got, in)
		}
	})
}

type fakeConn struct{ r io.Reader }

func (c fakeConn) Read(p []byte) (int, error)     { return c.r.Read(p) }
func (fakeConn) Write(p []byte) (int, error)      { return len(p), nil }
func (fakeConn) Close() error                     { return nil }
func (fakeConn) LocalAddr() net.Addr              { return nil }
func (fakeConn) RemoteAddr() net.Addr             { return nil }
func (fakeConn) SetDeadline(time.Time) error      { return nil }
func (fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (fakeConn) SetWriteDeadline(time.Time) error { return nil }

// lineCounter is a slog handler that keeps every record.
type lineCounter struct {
	mu    sync.Mutex
	lines []string
}

func (h *lineCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h *lineCounter) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, b.String())
	h.mu.Unlock()
	return nil
}
func (h *lineCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *lineCounter) WithGroup(string) slog.Handler      { return h }

func (h *lineCounter) snapshot() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.lines...)
}

func (h *lineCounter) matching(s string) int {
	n := 0
	for _, l := range h.snapshot() {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// startLogged starts a member with the given key and label whose logs go
// to the returned counter.
func startLogged(t *testing.T, id, label string, key []byte, interval time.Duration) (*Membership, netip.AddrPort, *lineCounter) {
	t.Helper()
	tr, err := transport.Listen(transport.NetConfig{Bind: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	h := &lineCounter{}
	m, err := Start(Config{ID: id, Advertise: tr.Addr(), Transport: tr, Key: key, Label: label,
		Profile: Local(), Meta: []byte(id), Logger: slog.New(h), LogInterval: interval})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return m, tr.Addr(), h
}

// sendDatagrams sends n datagrams, the ith one datagram(i), to addr from a
// socket of its own, paced so that the loopback socket's buffer keeps up.
func sendDatagrams(t *testing.T, addr netip.AddrPort, n int, datagram func(i int) []byte) {
	t.Helper()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range n {
		if _, err := c.Write(datagram(i)); err != nil {
			t.Fatal(err)
		}
		if i%500 == 499 {
			time.Sleep(time.Millisecond) // let the loopback socket drain
		}
	}
}

// waitCounted waits until count, of n datagrams sent, has reached half of
// them and stopped growing (UDP may drop some under load), and returns it.
func waitCounted(t *testing.T, what string, n int, count func() uint64) uint64 {
	t.Helper()
	var last uint64
	waitFor(t, what, 10*time.Second, func() bool {
		got := count()
		settled := got >= uint64(n)/2 && got == last
		last = got
		time.Sleep(50 * time.Millisecond)
		return settled
	})
	return last
}

func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// 10,000 garbage datagrams: counted, and logged as a few summary lines
// rather than a line each.
func TestGarbageDatagramsLogSummaries(t *testing.T) {
	m, addr, h := startLogged(t, "a", "cloister/app", bytes.Repeat([]byte{1}, 32), time.Minute)
	const n = 10000
	pkt := make([]byte, 64)
	sendDatagrams(t, addr, n, func(i int) []byte {
		binary.BigEndian.PutUint32(pkt, uint32(i)) // first byte 0..39: never a label
		return pkt
	})
	waitCounted(t, "garbage counted", n, func() uint64 { return m.Stats().PacketsMalformed })
	got := m.Stats().PacketsMalformed
	m.Shutdown() // logs what is pending
	lines := h.snapshot()
	t.Logf("%d garbage datagrams counted, %d log lines: %q", got, len(lines), lines)
	if len(lines) > 6 {
		t.Fatalf("%d log lines for %d garbage datagrams", len(lines), got)
	}
	if h.matching("dropped") == 0 || h.matching(rejectPacketBad) == 0 {
		t.Fatalf("no summary of the garbage: %q", lines)
	}
}

// A member with another key, or another label, is refused: Join returns
// ErrAuth on the joining side, and both sides name the other in their logs
// and count it, at a bounded rate.
func TestJoinWrongSecret(t *testing.T) {
	secret := bytes.Repeat([]byte{1}, 32)
	other := bytes.Repeat([]byte{2}, 32)
	const interval = 300 * time.Millisecond
	good, goodAddr, goodLog := startLogged(t, "good", "cloister/app", secret, interval)
	for _, tc := range []struct {
		name, label string
		key         []byte
		stat        func(Stats) uint64
	}{
		{"another secret", "cloister/app", other, func(s Stats) uint64 { return s.StreamsAuthFailed }},
		{"another app", "cloister/other", secret, func(s Stats) uint64 { return s.StreamsWrongLabel }},
		{"no secret", "cloister/app", nil, func(s Stats) uint64 { return s.StreamsWrongMode }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad, badAddr, badLog := startLogged(t, "bad-"+tc.label, tc.label, tc.key, interval)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			before := tc.stat(good.Stats())
			start := time.Now()
			const tries = 20
			for range tries {
				_, err := bad.Join(ctx, []netip.AddrPort{goodAddr})
				if !errors.Is(err, ErrAuth) || !errors.Is(err, ErrJoin) {
					t.Fatalf("join with %s: %v, want ErrAuth", tc.name, err)
				}
				// And the other way round: the good member tries the bad one.
				if _, err := good.Join(ctx, []netip.AddrPort{badAddr}); !errors.Is(err, ErrAuth) {
					t.Fatalf("join of a peer with %s: %v, want ErrAuth", tc.name, err)
				}
			}
			if got := bad.Stats().JoinsAuthFailed; got != tries {
				t.Fatalf("bad side counted %d failed joins, want %d", got, tries)
			}
			waitFor(t, "good side counting", 5*time.Second, func() bool { return tc.stat(good.Stats())-before >= tries })
			elapsed := time.Since(start)
			// Both sides name the other.
			waitFor(t, "good side naming the bad peer", 5*time.Second, func() bool {
				return goodLog.matching("peer 127.0.0.1 answers with another secret or app label") > 0
			})
			waitFor(t, "bad side naming the good peer", 5*time.Second, func() bool {
				return badLog.matching("peer "+goodAddr.String()+" answers with another secret or app label") > 0
			})
			// At a bounded rate: one summary per interval, each a line per
			// reason and one per named peer, plus memberlist's start line.
			maxLines := (int(elapsed/interval)+2)*4 + 1
			if n := len(badLog.snapshot()); n > maxLines {
				t.Fatalf("bad side logged %d lines in %v: %q", n, elapsed, badLog.snapshot())
			}
			for _, l := range append(goodLog.snapshot(), badLog.snapshot()...) {
				if strings.Contains(l, string(secret)) || strings.Contains(l, string(other)) {
					t.Fatalf("a log line holds a key: %q", l)
				}
			}
		})
	}
}

// A peer that is down is not an authentication failure: its address
// refused the connection (ErrRefused); a peer with another secret is not
// refused.
func TestJoinDownIsNotAuth(t *testing.T) {
	m, _, _ := startLogged(t, "a", "cloister/app", bytes.Repeat([]byte{1}, 32), time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := m.Join(ctx, []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:1")})
	if err == nil || errors.Is(err, ErrAuth) || !errors.Is(err, ErrRefused) || !errors.Is(err, ErrJoin) {
		t.Fatalf("join to a closed port: %v", err)
	}
	_, other, _ := startLogged(t, "b", "cloister/app", bytes.Repeat([]byte{2}, 32), time.Minute)
	if _, err := m.Join(ctx, []netip.AddrPort{other}); !errors.Is(err, ErrAuth) || errors.Is(err, ErrRefused) {
		t.Fatalf("join to a peer with another secret: %v", err)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct{ line, kind, source string }{
		{`memberlist: Decrypt packet failed: no installed keys could decrypt the message from=127.0.0.1:4747`, rejectPacketAuth, "127.0.0.1:4747"},
		{`memberlist: discarding packet with unacceptable label "": from=10.0.0.1:5`, rejectPacketBad, "10.0.0.1:5"},
		{`memberlist: discarding packet with unacceptable label "cloister/x": from=10.0.0.1:5`, rejectPacketLabel, "10.0.0.1:5"},
		{`memberlist: failed to receive: no installed keys could decrypt the message from=[::1]:6000`, rejectStreamAuth, "::1"},
		{`memberlist: failed to receive: read tcp: i/o timeout from=10.0.0.2:6000`, rejectStreamBad, "10.0.0.2"},
		{`memberlist: handler queue full, dropping message (8) from=10.0.0.3:4747`, dropHandlerFull, "10.0.0.3:4747"},
	} {
		kind, src, ok := classify(tc.line)
		if !ok || kind != tc.kind || src != tc.source {
			t.Errorf("classify(%q) = %q, %q, %v; want %q, %q", tc.line, kind, src, ok, tc.kind, tc.source)
		}
	}
	if _, _, ok := classify("memberlist: Suspect x has failed, no acks received"); ok {
		t.Error("an ordinary line classified as refused traffic")
	}
}

// Ordinary memberlist lines are rate-limited too.
func TestOrdinaryLinesLimited(t *testing.T) {
	h := &lineCounter{}
	r := newReporter(slog.New(h), time.Hour)
	w := &logWriter{logger: slog.New(h), rep: r}
	for range 1000 {
		w.Write([]byte("[ERR] memberlist: Failed to send ping: boom\n"))
	}
	r.stop()
	// The first summary comes at once (none was due before), which opens a
	// second budget; after that, one per interval.
	n, passed := len(h.snapshot()), h.matching("Failed to send ping")
	if n > 2*logLinesPerInterval+2 || h.matching("suppressed") == 0 || r.total(suppressedLogLines) != uint64(1000-passed) {
		t.Fatalf("%d lines, %d passed, %d suppressed", n, passed, r.total(suppressedLogLines))
	}
}

// The bodies claimed by streams being read are bounded in sum: a stream
// whose claim does not fit is refused until an earlier one is closed.
func TestStreamBudget(t *testing.T) {
	g := newStreamGuard("l", true)
	g.budget = 100
	open := func(claim uint32) (net.Conn, error) {
		t.Helper()
		client, server := net.Pipe()
		t.Cleanup(func() { client.Close() })
		go client.Write(streamPrefix("l", mlEncryptMsg, claim))
		if !g.acquire() {
			t.Fatal("no slot")
		}
		return g.check(server)
	}
	first, err := open(60)
	if err != nil {
		t.Fatal(err)
	}
	var pe *errPrefix
	if _, err := open(60); !errors.As(err, &pe) || pe.kind != rejectStreamBusy {
		t.Fatalf("a claim beyond the budget: %v", err)
	}
	if _, err := open(40); err != nil {
		t.Fatalf("a claim within the budget: %v", err)
	}
	first.Close()
	first.Close() // releases once
	if got := g.claimed.Load(); got != 40 {
		t.Fatalf("claimed %d after the close, want 40", got)
	}
	if _, err := open(60); err != nil {
		t.Fatalf("a claim after the first stream closed: %v", err)
	}
	if n := len(g.slots); n != 2 {
		t.Fatalf("%d slots held, want 2", n)
	}
}

// Whatever answers at a dialled address has not authenticated yet either:
// an answer claiming a huge encrypted body fails the join before a byte of
// it is buffered.
func TestDialledAnswerTooLarge(t *testing.T) {
	m, _, _ := startLogged(t, "a", "cloister/app", bytes.Repeat([]byte{1}, 32), time.Minute)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	served := make(chan int64, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			served <- -1
			return
		}
		defer c.Close()
		// Read the joiner's kind byte, label and state, then answer with
		// a claim just under memberlist's limit and send a body.
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		io.Copy(io.Discard, c)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(binary.BigEndian.AppendUint32([]byte{mlEncryptMsg}, 20<<20-1))
		n, _ := io.Copy(c, io.LimitReader(zeros{}, 20<<20))
		served <- n
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = m.Join(ctx, []netip.AddrPort{netip.MustParseAddrPort(l.Addr().String())})
	if err == nil || !strings.Contains(err.Error(), errAnswerTooLarge.Error()) {
		t.Fatalf("join of a peer claiming a 20 MiB answer: %v", err)
	}
	if n := <-served; n >= 20<<20 {
		t.Fatalf("the joiner read the whole %d-byte answer", n)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
