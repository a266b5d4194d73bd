package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// udpSize is the EDNS0 UDP payload size advertised (the DNS Flag Day 2020
// value); larger answers come truncated and are asked again over TCP.
const udpSize = 1232

// ask puts one question to the servers in order and returns the first
// NOERROR reply. NXDOMAIN is final; SERVFAIL, REFUSED, other codes, silence
// and garbage move on to the next server. On failure the most severe error
// is returned.
func (r *resolver) ask(ctx context.Context, servers []string, fq string, qtype uint16) (*dns.Msg, error) {
	question := fq + " " + dns.TypeToString[qtype]
	var worst error
	for _, server := range servers {
		if worst != nil && ctx.Err() != nil {
			break
		}
		m, err := r.exchange(ctx, server, fq, qtype)
		if err == nil {
			if m.Rcode == dns.RcodeSuccess {
				return m, nil
			}
			err = &fault{kind: ErrLookup, cause: rcodeError(m.Rcode)}
		}
		worst = worse(worst, annotate(err, question+" from "+server))
		if m != nil && m.Rcode == dns.RcodeNameError {
			break
		}
	}
	return nil, worst
}

// exchange asks one server over UDP, and again over TCP if the reply is
// truncated, all within the query timeout.
func (r *resolver) exchange(ctx context.Context, server, fq string, qtype uint16) (*dns.Msg, error) {
	timeout := fmt.Errorf("no reply within %v: %w", r.opts.timeout, context.DeadlineExceeded)
	ctx, cancel := context.WithTimeoutCause(ctx, r.opts.timeout, timeout)
	defer cancel()
	q := new(dns.Msg)
	q.SetQuestion(fq, qtype)
	q.SetEdns0(udpSize, false)
	m, err := roundTrip(ctx, "udp", server, q)
	if err != nil || !m.Truncated {
		return m, err
	}
	m, err = roundTrip(ctx, "tcp", server, q)
	return m, annotate(err, "truncated over UDP, over TCP")
}

// roundTrip sends q and waits for its reply until ctx is done. Over UDP,
// replies that do not match q (unparsable, another ID, another question)
// are ignored, as they may be stale or forged, and the wait goes on; if
// nothing else comes, the result is ErrMalformed naming the last one, not
// a mere timeout. Over TCP, the first reply is the only one.
func roundTrip(ctx context.Context, network, server string, q *dns.Msg) (*dns.Msg, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, server)
	if err != nil {
		return nil, lookupFailure(ctx, err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	// A cancellation without deadline must interrupt the I/O too.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	co := &dns.Conn{Conn: conn}
	if err := co.WriteMsg(q); err != nil {
		return nil, lookupFailure(ctx, err)
	}
	buf := make([]byte, dns.MaxMsgSize)
	var bad error
	for {
		n, err := co.Read(buf)
		if err != nil {
			if bad != nil {
				return nil, &fault{kind: ErrMalformed, cause: bad}
			}
			return nil, lookupFailure(ctx, err)
		}
		m, err := check(q, buf[:n])
		if err == nil {
			return m, nil
		}
		if network != "udp" {
			return nil, &fault{kind: ErrMalformed, cause: err}
		}
		bad = err
	}
}

// lookupFailure is an ErrLookup whose cause is the context's when it is
// done (the caller's deadline or cancellation, or the query timeout), else
// err.
func lookupFailure(ctx context.Context, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection's deadlines all come from ctx, whose timer may
		// not have fired yet: wait for it, so that the cause is right.
		<-ctx.Done()
	}
	if cause := context.Cause(ctx); cause != nil {
		err = cause
	}
	return &fault{kind: ErrLookup, cause: err}
}

// check decodes a reply and verifies that it answers q.
func check(q *dns.Msg, p []byte) (m *dns.Msg, err error) {
	// miekg/dns is fuzzed, but this is untrusted input: never panic on it.
	defer func() {
		if v := recover(); v != nil {
			m, err = nil, fmt.Errorf("unparsable reply: %v", v)
		}
	}()
	m = new(dns.Msg)
	if err := m.Unpack(p); err != nil {
		return nil, fmt.Errorf("unparsable reply: %w", err)
	}
	if m.Id != q.Id {
		return nil, fmt.Errorf("reply with ID %d, want %d", m.Id, q.Id)
	}
	if !m.Response || m.Opcode != dns.OpcodeQuery {
		return nil, errors.New("not a reply to a query")
	}
	// Error replies may omit the question section; answers may not.
	if len(m.Question) == 0 && m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError {
		return m, nil
	}
	want := q.Question[0]
	if len(m.Question) != 1 || !strings.EqualFold(m.Question[0].Name, want.Name) ||
		m.Question[0].Qtype != want.Qtype || m.Question[0].Qclass != want.Qclass {
		return nil, errors.New("reply to another question")
	}
	return m, nil
}
