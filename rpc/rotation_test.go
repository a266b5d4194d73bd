package rpc

import (
	"context"
	"errors"
	"testing"
)

var newSecret = []byte("the-next-cluster-secret-0123456789")

// A member claiming another member's ID in its hello is refused: its
// certificate proves its own ID. Before the identity was bound to the
// certificate, the handler saw the claimed ID as Request.From.
func TestImpersonationRefused(t *testing.T) {
	noLeaks(t)
	target, tp := node(t, Config{Secret: testSecret})
	froms := make(chan string, 4)
	target.Handle("whoami", func(_ context.Context, r Request) ([]byte, error) {
		froms <- r.From
		return nil, nil
	})
	victim, _ := node(t, Config{Secret: testSecret})
	// The impersonator holds the secret and its own identity, and claims
	// the victim's ID in its hello.
	imp, _ := node(t, Config{Secret: testSecret, ID: "impostor@127.0.0.1:1#1"})
	imp.cfg.ID = victim.ID()
	before := target.Stats()
	if _, err := imp.Call(testCtx(t), tp, "whoami", nil); !errors.Is(err, ErrAuth) {
		t.Fatalf("call claiming another member's ID: %v, want ErrAuth", err)
	}
	select {
	case from := <-froms:
		t.Fatalf("the handler ran for a caller claiming to be %q", from)
	default:
	}
	if got := target.Stats(); got.Impersonations != before.Impersonations+1 || got.RefusedHellos != before.RefusedHellos+1 {
		t.Fatalf("impersonation not counted: %+v", got)
	}
	// The victim itself gets through, under its own ID.
	if _, err := victim.Call(testCtx(t), tp, "whoami", nil); err != nil {
		t.Fatal(err)
	}
	if from := <-froms; from != victim.ID() {
		t.Fatalf("handler saw %q, want %q", from, victim.ID())
	}
}

// A server that answers with another ID than its certificate proves is
// refused by the caller.
func TestServerImpersonationRefused(t *testing.T) {
	noLeaks(t)
	real, _ := node(t, Config{Secret: testSecret})
	fake, fp := node(t, Config{Secret: testSecret, ID: "fake@127.0.0.1:1#1"})
	fake.Handle("echo", echo)
	fake.cfg.ID = real.ID() // answers hellos with the real member's ID
	caller, _ := node(t, Config{Secret: testSecret})
	_, err := caller.Call(testCtx(t), Peer{ID: real.ID(), Addr: fp.Addr}, "echo", nil)
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("call to a server claiming another ID: %v, want ErrAuth", err)
	}
}

// Rotation: an endpoint proves its Secret and accepts AcceptSecrets too,
// so the three steps keep every pair of endpoints talking.
func TestSecretRotation(t *testing.T) {
	noLeaks(t)
	steps := [][]Config{
		{{Secret: testSecret}, {Secret: testSecret}},
		{{Secret: testSecret, AcceptSecrets: [][]byte{newSecret}}, {Secret: testSecret}},
		{{Secret: testSecret, AcceptSecrets: [][]byte{newSecret}}, {Secret: testSecret, AcceptSecrets: [][]byte{newSecret}}},
		{{Secret: newSecret, AcceptSecrets: [][]byte{testSecret}}, {Secret: testSecret, AcceptSecrets: [][]byte{newSecret}}},
		{{Secret: newSecret, AcceptSecrets: [][]byte{testSecret}}, {Secret: newSecret, AcceptSecrets: [][]byte{testSecret}}},
		{{Secret: newSecret}, {Secret: newSecret, AcceptSecrets: [][]byte{testSecret}}},
		{{Secret: newSecret}, {Secret: newSecret}},
	}
	for i, pair := range steps {
		a, ap := node(t, pair[0])
		b, bp := node(t, pair[1])
		a.Handle("echo", echo)
		b.Handle("echo", echo)
		if _, err := a.Call(testCtx(t), bp, "echo", nil); err != nil {
			t.Fatalf("step %d: a → b: %v", i, err)
		}
		if _, err := b.Call(testCtx(t), ap, "echo", nil); err != nil {
			t.Fatalf("step %d: b → a: %v", i, err)
		}
	}
	// Skipping a step fails: the old secret alone and the new alone.
	a, _ := node(t, Config{Secret: testSecret})
	_, bp := node(t, Config{Secret: newSecret})
	if _, err := a.Call(testCtx(t), bp, "echo", nil); !errors.Is(err, ErrAuth) {
		t.Fatalf("old secret → new secret: %v, want ErrAuth", err)
	}
	if _, err := New(Config{Transport: listen(t), AcceptSecrets: [][]byte{newSecret}, Insecure: true}); err == nil {
		t.Fatal("AcceptSecrets without Secret accepted")
	}
	if _, err := New(Config{Transport: listen(t), Secret: testSecret, AcceptSecrets: [][]byte{[]byte("short")}}); err == nil {
		t.Fatal("short accepted secret accepted")
	}
}
