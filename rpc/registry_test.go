package rpc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
)

var (
	errStaleTerm = errors.New("stale term")
	errNotLeader = errors.New("not leader")
	errLocalOnly = errors.New("never registered")
)

func TestRegisteredErrorsCrossTheWire(t *testing.T) {
	if err := RegisterError("test.stale-term", errStaleTerm); err != nil {
		t.Fatal(err)
	}
	if err := RegisterError("test.not-leader", errNotLeader); err != nil {
		t.Fatal(err)
	}
	if err := RegisterError("test.stale-term", errStaleTerm); err != nil {
		t.Fatalf("registering the same error twice: %v", err)
	}
	for _, bad := range []error{
		RegisterError("test.stale-term", errNotLeader),
		RegisterError("", errNotLeader),
		RegisterError("test.nil", nil),
	} {
		if !errors.Is(bad, ErrRegistry) {
			t.Fatalf("bad registration: %v, want ErrRegistry", bad)
		}
	}
	a, _ := node(t, Config{})
	b, bp := node(t, Config{})
	b.Handle("fail", func(_ context.Context, req Request) ([]byte, error) {
		switch string(req.Body) {
		case "stale":
			return nil, fmt.Errorf("write at term 3 refused: %w", errStaleTerm)
		case "leader":
			return nil, errNotLeader
		default:
			return nil, errLocalOnly
		}
	})
	ctx := testCtx(t)
	_, err := a.Call(ctx, bp, "fail", []byte("stale"))
	var re *RemoteError
	if !errors.Is(err, errStaleTerm) || !errors.As(err, &re) || re.Name != "test.stale-term" || re.Message != "write at term 3 refused: stale term" {
		t.Fatalf("registered error: %v (%+v)", err, re)
	}
	if errors.Is(err, errNotLeader) {
		t.Fatal("the stale-term error matches not-leader")
	}
	if _, err := a.Call(ctx, bp, "fail", []byte("leader")); !errors.Is(err, errNotLeader) {
		t.Fatalf("second registered error: %v", err)
	}
	_, err = a.Call(ctx, bp, "fail", []byte("other"))
	if !errors.As(err, &re) || re.Name != "" || errors.Is(err, errLocalOnly) || errors.Unwrap(err) != nil {
		t.Fatalf("an unregistered error crossed as %v (%+v)", err, re)
	}
}

func TestSplitRegisteredMessageRejectsGarbage(t *testing.T) {
	for _, s := range []string{"", "\x00x", "\x40short", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"} {
		if _, msg, ok := splitRegisteredMessage(s); ok || msg != s {
			t.Fatalf("%q split as registered", s)
		}
	}
	name, msg, ok := splitRegisteredMessage(appendRegisteredMessage("n", "m"))
	if !ok || name != "n" || msg != "m" {
		t.Fatalf("round trip: %q %q %v", name, msg, ok)
	}
}

// An error code of a later build is read as a handler's error with its
// text, not as a protocol error that would close the connection.
func TestUnknownErrorCodeIsARemoteError(t *testing.T) {
	in := appendError(nil, 7, maxCode+1, "later")
	f, err := readFrame(bufio.NewReader(bytes.NewReader(in)), 1<<10)
	if err != nil {
		t.Fatalf("readFrame of a later error code: %v", err)
	}
	var re *RemoteError
	if err := (&conn{peer: "p"}).remoteErr(f.code, string(f.body)); !errors.As(err, &re) || re.Message != "later" {
		t.Fatalf("later code read as %v", err)
	}
}
