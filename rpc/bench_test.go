package rpc

import (
	"context"
	"errors"
	"runtime"
	"testing"
)

// benchPair returns an endpoint and a peer serving "echo", secured or not.
func benchPair(b *testing.B, secure bool) (*Endpoint, Peer) {
	cfg := Config{Insecure: !secure}
	a, _ := node(b, cfg)
	srv, p := node(b, cfg)
	srv.Handle("echo", echo)
	if _, err := a.Call(context.Background(), p, "echo", nil); err != nil {
		b.Fatal(err)
	}
	return a, p
}

func benchModes(b *testing.B, run func(b *testing.B, secure bool)) {
	b.Run("tls", func(b *testing.B) { run(b, true) })
	b.Run("insecure", func(b *testing.B) { run(b, false) })
}

// BenchmarkCall is one caller's round trip, 64-byte payload.
func BenchmarkCall(b *testing.B) {
	benchModes(b, func(b *testing.B, secure bool) {
		a, p := benchPair(b, secure)
		msg := make([]byte, 64)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.Call(ctx, p, "echo", msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCallParallel is 64 concurrent callers on one connection.
func BenchmarkCallParallel(b *testing.B) {
	for _, size := range []int{64, 4 << 10} {
		b.Run(sizeName(size), func(b *testing.B) {
			benchModes(b, func(b *testing.B, secure bool) {
				a, p := benchPair(b, secure)
				msg := make([]byte, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					ctx := context.Background()
					for pb.Next() {
						if _, err := a.Call(ctx, p, "echo", msg); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
	}
}

// BenchmarkCast is fire-and-forget throughput, 64-byte payload. A cast that
// finds the send queue full (ErrOverloaded) is retried, so this measures
// what the connection sustains; refusals are reported per op.
func BenchmarkCast(b *testing.B) {
	benchModes(b, func(b *testing.B, secure bool) {
		a, p := benchPair(b, secure)
		msg := make([]byte, 64)
		refused := 0
		b.ReportAllocs()
		for b.Loop() {
			for {
				err := a.Cast(context.Background(), p, "echo", msg)
				if err == nil {
					break
				}
				if !errors.Is(err, ErrOverloaded) {
					b.Fatal(err)
				}
				refused++
				runtime.Gosched()
			}
		}
		b.ReportMetric(float64(refused)/float64(b.N), "refused/op")
	})
}

func sizeName(n int) string {
	if n >= 1<<10 {
		return itoa(n>>10) + "KiB"
	}
	return itoa(n) + "B"
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// BenchmarkNew is the construction and Close of an endpoint that calls
// nobody, as most endpoints of a starting cluster do for a while. The
// per-process one-time costs (ed25519's basepoint table) are paid by the
// first iteration only.
func BenchmarkNew(b *testing.B) {
	for _, mode := range []struct {
		name string
		cfg  Config
	}{
		{"secret", Config{Secret: testSecret}},
		{"insecure", Config{Insecure: true}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			cfg := mode.cfg
			cfg.Transport = listen(b)
			b.ReportAllocs()
			for b.Loop() {
				e, err := New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				e.Close()
			}
		})
	}
}
