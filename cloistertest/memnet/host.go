package memnet

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/cloister-go/cloister/transport"
)

// host is one port on the network: the transport.Transport Listen returns.
type host struct {
	net     *Network
	addr    netip.AddrPort
	packets chan transport.Packet
	streams map[transport.Kind]chan net.Conn
	wake    chan struct{} // nudges deliver when pending changes; capacity 1
	closed  chan struct{} // closed by Close

	closeOnce sync.Once
	wg        sync.WaitGroup
	accepting sync.WaitGroup // dials waiting for room in a full accept queue

	mu       sync.Mutex
	isClosed bool
	pending  inFlight // delayed or held datagrams, earliest first
	seq      uint64   // orders pending datagrams due at the same time
	conns    map[*conn]struct{}
}

var _ transport.Transport = (*host)(nil)

func newHost(n *Network, addr netip.AddrPort) *host {
	h := &host{
		net:     n,
		addr:    addr,
		packets: make(chan transport.Packet, PacketQueue),
		streams: map[transport.Kind]chan net.Conn{
			transport.KindGossip: make(chan net.Conn, AcceptQueue),
			transport.KindCall:   make(chan net.Conn, AcceptQueue),
		},
		wake:   make(chan struct{}, 1),
		closed: make(chan struct{}),
		conns:  make(map[*conn]struct{}),
	}
	h.wg.Add(1)
	go h.deliver()
	return h
}

// Addr returns the address the transport listens on.
func (h *host) Addr() netip.AddrPort { return h.addr }

// Packets delivers received datagrams. It is never closed.
func (h *host) Packets() <-chan transport.Packet { return h.packets }

// Streams delivers accepted streams of kind k; nil for an unknown kind. It
// is never closed.
func (h *host) Streams(k transport.Kind) <-chan net.Conn { return h.streams[k] }

func (h *host) closedNow() bool {
	select {
	case <-h.closed:
		return true
	default:
		return false
	}
}

// WritePacket sends one datagram. Like UDP it reports no loss: a datagram
// dropped by a fault, by Loss, by a full queue or for want of a listener
// is only counted in the network's Stats.
func (h *host) WritePacket(b []byte, to netip.AddrPort) error {
	if h.closedNow() {
		return transport.ErrClosed
	}
	if len(b) > transport.MaxPacketSize {
		return fmt.Errorf("%w: %d bytes", transport.ErrPacketTooLarge, len(b))
	}
	to = unmap(to)
	n := h.net
	st := &n.stats
	st.sent.Add(1)
	f := n.state.Load()
	if f.isPaused(h.addr) || f.cut(h.addr, to) {
		st.droppedFault.Add(1)
		return nil
	}
	if n.lost(f, h.addr, to) {
		st.droppedLoss.Add(1)
		return nil
	}
	dst := n.lookup(to)
	if dst == nil {
		st.droppedNoListener.Add(1)
		return nil
	}
	dst.receive(transport.Packet{Data: bytes.Clone(b), From: h.addr}, f, n.delayFor(f, h.addr, to))
	return nil
}

// receive takes a datagram sent to h under fault state f, due after d.
func (h *host) receive(p transport.Packet, f *faults, d time.Duration) {
	st := &h.net.stats
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.isClosed {
		st.droppedNoListener.Add(1)
		return
	}
	now := time.Now()
	paused := f.isPaused(h.addr)
	if d <= 0 && !paused {
		p.At = now
		h.put(p)
		return
	}
	if paused && len(h.pending) >= PausedLimit {
		st.droppedPaused.Add(1)
		return
	}
	if len(h.pending) >= InFlightLimit {
		st.droppedFull.Add(1)
		return
	}
	h.seq++
	heap.Push(&h.pending, pendingPacket{p: p, due: now.Add(d), seq: h.seq})
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// put hands p to the Packets channel, or drops it when that is full. h.mu
// is held and h is open.
func (h *host) put(p transport.Packet) {
	select {
	case h.packets <- p:
		h.net.stats.delivered.Add(1)
	default:
		h.net.stats.droppedFull.Add(1)
	}
}

// deliver hands delayed and held datagrams to the Packets channel when
// they are due and h is not paused. It is h's only goroutine and ends on
// Close.
func (h *host) deliver() {
	defer h.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		f := h.net.state.Load()
		paused := f.isPaused(h.addr)
		var wait time.Duration
		h.mu.Lock()
		if h.isClosed {
			h.mu.Unlock()
			return
		}
		now := time.Now()
		for !paused && len(h.pending) > 0 {
			if due := h.pending[0].due; due.After(now) {
				wait = due.Sub(now)
				break
			}
			p := heap.Pop(&h.pending).(pendingPacket).p
			p.At = now
			h.put(p)
		}
		h.mu.Unlock()
		var tick <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-h.wake:
		case <-tick:
		case <-f.changed:
		case <-h.closed:
			timer.Stop()
			return
		}
		timer.Stop()
	}
}

// Dial opens a stream of kind k to the transport listening at to. While
// the path between the two addresses is cut either way (partition, block,
// isolation, pause) it hangs, as a dial whose SYNs are dropped does, until
// the path opens or ctx ends; then it returns a *net.OpError that is a
// timeout and matches context.DeadlineExceeded (or context.Canceled). On
// an open path with nobody listening at to, or with to's accept queue
// full, it fails at once with a *net.OpError matching
// syscall.ECONNREFUSED.
func (h *host) Dial(ctx context.Context, to netip.AddrPort, k transport.Kind) (net.Conn, error) {
	if k != transport.KindGossip && k != transport.KindCall {
		return nil, fmt.Errorf("%w: %d", transport.ErrUnknownKind, k)
	}
	if h.closedNow() {
		return nil, transport.ErrClosed
	}
	to = unmap(to)
	n := h.net
	if err := ctx.Err(); err != nil {
		return nil, h.dialError(to, ctxError(err))
	}
	var f *faults
	for {
		f = n.state.Load()
		if f.open(h.addr, to) && f.open(to, h.addr) {
			break
		}
		select {
		case <-f.changed:
		case <-ctx.Done():
			n.stats.dialTimeouts.Add(1)
			return nil, h.dialError(to, ctxError(ctx.Err()))
		case <-h.closed:
			return nil, transport.ErrClosed
		}
	}
	if rtt := n.delayFor(f, h.addr, to) + n.delayFor(f, to, h.addr); rtt > 0 {
		t := time.NewTimer(rtt)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			n.stats.dialTimeouts.Add(1)
			return nil, h.dialError(to, ctxError(ctx.Err()))
		case <-h.closed:
			t.Stop()
			return nil, transport.ErrClosed
		}
	}
	dst := n.lookup(to)
	if dst == nil {
		n.stats.refused.Add(1)
		return nil, h.dialError(to, os.NewSyscallError("connect", syscall.ECONNREFUSED))
	}
	client, server := newConnPair(n, h, dst)
	if !h.track(client) {
		client.Close()
		server.Close()
		return nil, transport.ErrClosed
	}
	if err := dst.accept(ctx, k, server, h.closed); err != nil {
		client.Close()
		server.Close()
		switch {
		case errors.Is(err, transport.ErrClosed):
			return nil, err
		case ctx.Err() != nil:
			n.stats.dialTimeouts.Add(1)
			return nil, h.dialError(to, ctxError(ctx.Err()))
		}
		n.stats.refused.Add(1)
		return nil, h.dialError(to, os.NewSyscallError("connect", syscall.ECONNREFUSED))
	}
	n.stats.dialled.Add(1)
	return client, nil
}

func (h *host) dialError(to netip.AddrPort, err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Source: tcpAddr(h.addr), Addr: tcpAddr(to), Err: err}
}

// track records c, one of h's streams, so that Close closes it. It
// reports false when h is closed.
func (h *host) track(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.isClosed {
		return false
	}
	h.conns[c] = struct{}{}
	return true
}

// untrack forgets c, which is closing.
func (h *host) untrack(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
}

// errRefused is accept's answer when h is closed.
var errRefused = errors.New("memnet: refused")

// accept queues the server end of a dialled stream on h's Streams(k)
// channel. While the queue is full it waits for room until ctx ends (its
// error), h closes (errRefused) or the dialling host closes
// (transport.ErrClosed).
func (h *host) accept(ctx context.Context, k transport.Kind, c *conn, dialerClosed <-chan struct{}) error {
	h.mu.Lock()
	if h.isClosed {
		h.mu.Unlock()
		return errRefused
	}
	select {
	case h.streams[k] <- c:
		h.conns[c] = struct{}{}
		h.mu.Unlock()
		return nil
	default:
	}
	// The queue is full: a kernel drops the SYN of a full listen backlog
	// (it does not refuse it) and the dialer retries, so the dial waits
	// for room, as long as its context allows. Refusing instead made a
	// busy member look dead to a node checking its port.
	h.conns[c] = struct{}{} // so that Close closes it while it waits
	h.accepting.Add(1)
	h.mu.Unlock()
	defer h.accepting.Done()
	var err error
	select {
	case h.streams[k] <- c:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-h.closed:
		err = errRefused
	case <-dialerClosed:
		err = transport.ErrClosed
	}
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	return err
}

// Close closes the transport: its streams are closed (their peers read
// what was sent before, then io.EOF), datagrams still on their way to it
// are dropped, and its channels are never written again. It waits for
// the transport's goroutine to end, and frees the address for another
// Listen. It is idempotent and always returns nil.
func (h *host) Close() error {
	h.closeOnce.Do(func() {
		h.halt()
		h.mu.Lock()
		conns := h.conns
		h.conns = nil
		h.mu.Unlock()
		h.net.remove(h)
		for c := range conns {
			c.Close()
		}
		// Accepted streams nobody took are closed already (they are in
		// conns); drop them so that they can be collected, once no dial
		// waiting for room can add one.
		h.accepting.Wait()
		for _, ch := range h.streams {
			for drained := false; !drained; {
				select {
				case <-ch:
				default:
					drained = true
				}
			}
		}
	})
	h.wg.Wait()
	return nil
}

// halt stops the host at once: it sends and receives nothing more, new
// streams to or from it are refused, and its held datagrams are dropped.
// Close and Network.Crash call it; Close then closes its streams.
func (h *host) halt() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.isClosed {
		return
	}
	h.isClosed = true
	h.net.stats.droppedNoListener.Add(uint64(len(h.pending)))
	h.pending = nil
	close(h.closed)
}

// pendingPacket is a datagram waiting for its delay or for its receiver
// to be unpaused.
type pendingPacket struct {
	p   transport.Packet
	due time.Time
	seq uint64
}

// inFlight is a min-heap of pending datagrams by due time, then by send
// order.
type inFlight []pendingPacket

func (q inFlight) Len() int { return len(q) }
func (q inFlight) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}
func (q inFlight) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *inFlight) Push(x any)   { *q = append(*q, x.(pendingPacket)) }
func (q *inFlight) Pop() any {
	old := *q
	x := old[len(old)-1]
	old[len(old)-1] = pendingPacket{}
	*q = old[:len(old)-1]
	return x
}
