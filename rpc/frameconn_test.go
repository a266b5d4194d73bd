package rpc

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// timeoutCounter counts the timeouts its reads return.
type timeoutCounter struct {
	net.Conn
	timeouts atomic.Int64
}

func (c *timeoutCounter) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.timeouts.Add(1)
	}
	return n, err
}

// recorder passes writes through until capture is set, then keeps them.
type recorder struct {
	net.Conn
	capture bool
	buf     []byte
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.capture {
		return r.Conn.Write(p)
	}
	r.buf = append(r.buf, p...)
	return len(p), nil
}

// record returns the bytes w writes for p: one TLS record.
func (r *recorder) record(w net.Conn, p []byte) []byte {
	r.buf = nil
	_, _ = w.Write(p)
	return r.buf
}

// A read deadline that passes while a frame is half read, even in the
// middle of a TLS record, does not end the read: the frame is read whole
// once its bytes arrive. Between frames the deadline ends the read, nothing
// is consumed, and the next frame is intact. crypto/tls treats the timeout
// as temporary and keeps the partial record.
func TestDeadlineInsideAFrameResumesTheRead(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "insecure", true: "tls"}[secure], func(t *testing.T) {
			cEnd, sEnd := net.Pipe()
			defer cEnd.Close()
			defer sEnd.Close()
			counted := &timeoutCounter{Conn: cEnd}
			fc := &frameConn{Conn: counted}
			first := appendReply(nil, 7, []byte("a reply split across two reads"))
			second := appendReply(nil, 8, []byte("the next one"))
			// What travels: the first frame in two pieces, the second of
			// which arrives in two halves, then the second frame.
			pieces := [][]byte{first[:7], first[7:], second}
			if secure {
				cfg, err := secretTLS(testSecret)
				if err != nil {
					t.Fatal(err)
				}
				rec := &recorder{Conn: sEnd}
				client, server := tls.Client(counted, cfg), tls.Server(rec, cfg)
				handshake := make(chan error, 1)
				go func() { handshake <- server.Handshake() }()
				if err := client.Handshake(); err != nil {
					t.Fatal(err)
				}
				if err := await(t, handshake, "server handshake"); err != nil {
					t.Fatal(err)
				}
				rec.capture = true
				for i, p := range pieces {
					pieces[i] = rec.record(server, p) // one record each
				}
				fc.Conn = client
			}
			half := len(pieces[1]) / 2
			halfRead, goOn := make(chan struct{}), make(chan struct{})
			written := make(chan error, 1)
			go func() {
				// net.Pipe: a write returns once the reader has taken it all.
				for i, p := range [][]byte{pieces[0], pieces[1][:half], nil, pieces[1][half:], pieces[2]} {
					if i == 2 {
						close(halfRead)
						<-goOn
						continue
					}
					if _, err := sEnd.Write(p); err != nil {
						written <- err
						return
					}
				}
				written <- nil
			}()

			br := bufio.NewReader(fc)
			type read struct {
				f   frame
				err error
			}
			got := make(chan read, 1)
			go func() {
				if _, err := br.Peek(1); err != nil {
					got <- read{err: err}
					return
				}
				fc.inFrame = true
				f, err := readFrame(br, 1<<10)
				fc.inFrame = false
				got <- read{f, err}
			}()
			await(t, halfRead, "half the frame to be read")
			// The reader is inside the frame (and, with TLS, inside a
			// record): the deadline passes, a read times out, and only
			// then is the rest sent.
			_ = fc.SetReadDeadline(time.Unix(1, 0))
			waitFor(t, "a read to time out inside the frame", func() bool { return counted.timeouts.Load() > 0 })
			close(goOn)
			r := await(t, got, "the split frame")
			if r.err != nil || r.f.id != 7 || !bytes.Equal(r.f.body, []byte("a reply split across two reads")) {
				t.Fatalf("split frame: id %d %q, %v", r.f.id, r.f.body, r.err)
			}

			// At a frame boundary the deadline ends the read.
			before := counted.timeouts.Load()
			_ = fc.SetReadDeadline(time.Unix(1, 0))
			if _, err := br.Peek(1); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("read at a boundary with a past deadline: %v", err)
			}
			if counted.timeouts.Load() == before {
				t.Fatal("the boundary read did not time out")
			}
			_ = fc.SetReadDeadline(time.Time{})
			f, err := readFrame(br, 1<<10)
			if err != nil || f.id != 8 || string(f.body) != "the next one" {
				t.Fatalf("next frame: id %d %q, %v", f.id, f.body, err)
			}
			if err := await(t, written, "the writer"); err != nil {
				t.Fatal(err)
			}
		})
	}
}
