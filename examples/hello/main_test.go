package main

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/cloister-go/cloister/cloistertest"
)

// The example runs as a single-node cluster and reports ready over HTTP.
func TestHelloServesReadiness(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	t.Setenv("CLOISTER_HTTP", addr) // as cloister run and cloister init's files set it
	t.Setenv("CLOISTER_BIND", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()

	readyCtx, readyCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer readyCancel()
	ready := func() bool {
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v", err)
		default:
		}
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	if _, err := cloistertest.Poll(readyCtx, ready); err != nil {
		t.Fatalf("never ready: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}
