package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/discovery"
)

// members and top join as hidden nodes given the sentry and the secret:
// they print every member, the term and the leader, and no member ever
// counts them.
func TestMembersAndTopAsHiddenNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const secret = "observe-test-secret-0123456789"
	var addrs []string
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, l.Addr().String())
		l.Close()
	}
	sentry := strings.Join(addrs, ",")
	var nodes []*cloister.Node
	for _, a := range addrs {
		cfg := cloister.LocalConfig()
		cfg.Secret = cloister.Secret(secret)
		cfg.Bind = a
		cfg.Consensus = 3
		p, err := discovery.Parse(sentry, 0)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Sentry = p
		n, err := cloister.Launch(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Stop(context.Background())
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		if err := n.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(cloister.EnvSecret, secret)
	t.Setenv(cloister.EnvSentry, "")
	var out bytes.Buffer
	args := []string{"--sentry", sentry, "--bind", "127.0.0.1:0", "--detection", "local", "--app", "cloister"}
	if err := runMembers(ctx, args, &out); err != nil {
		t.Fatalf("members: %v\n%s", err, out.String())
	}
	for _, n := range nodes {
		if !strings.Contains(out.String(), n.Self().Name) {
			t.Errorf("members output lacks %s:\n%s", n.Self().Name, out.String())
		}
	}
	if !strings.Contains(out.String(), "leader cloister@") {
		t.Errorf("members output names no leader:\n%s", out.String())
	}
	out.Reset()
	if err := runTop(ctx, append(args, "--count", "2", "--plain", "--interval", "100ms"), &out); err != nil {
		t.Fatalf("top: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "CALLS/S") || strings.Count(out.String(), "cluster ready") != 2 {
		t.Errorf("top output:\n%s", out.String())
	}
	for _, n := range nodes {
		if len(n.Members()) != 3 {
			t.Errorf("%s counts %d members", n.Self().Name, len(n.Members()))
		}
	}
}
