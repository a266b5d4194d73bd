package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
)

func TestWhoisAsksARunningNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := cloister.LocalConfig()
	cfg.Rings = []cloister.RingConfig{{Name: "workers"}}
	node, err := cloister.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer node.Stop(ctx)
	srv := httptest.NewServer(node.Handler())
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	var out bytes.Buffer
	if err := runWhois(ctx, []string{"user:1", "--addr", addr, "user:2"}, &out); err != nil {
		t.Fatal(err)
	}
	sum := fmt.Sprintf("checksum %016x", node.Ring(cloister.DefaultRing).Checksum())
	for _, want := range []string{"user:1 -> " + node.Self().Name, "user:2 -> " + node.Self().Name, "ring default", sum} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := runWhois(ctx, []string{"--addr", addr, "--ring", "workers", "k"}, &out); err != nil || !strings.Contains(out.String(), "ring workers") {
		t.Fatalf("ring workers: %v\n%s", err, out.String())
	}
	if err := runWhois(ctx, []string{"--addr", addr, "--ring", "nope", "k"}, &out); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown ring: %v", err)
	}
	if err := runWhois(ctx, []string{"--addr", addr}, &out); err == nil {
		t.Fatal("whois without a key succeeded")
	}
}
