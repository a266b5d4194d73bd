package cloister

import (
	"context"
	"errors"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

// dispatcherGoroutines counts the goroutines running a dispatcher.
func dispatcherGoroutines() int {
	var b strings.Builder
	_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
	return strings.Count(b.String(), "cloister.(*dispatcher).run(")
}

// Issue #12, item 7: a Launch that fails after the listeners' dispatchers
// started stops them again.
func TestLaunchFailureStopsDispatchers(t *testing.T) {
	before := dispatcherGoroutines()
	boom := errors.New("no key for you")
	orig := hkdfKey
	hkdfKey = func([]byte, string) ([]byte, error) { return nil, boom }
	defer func() { hkdfKey = orig }()

	cfg := LocalConfig()
	cfg.Listeners = []Listener{ListenerFunc(func(State, State, Snapshot) {}), ListenerFunc(func(State, State, Snapshot) {})}
	if _, err := Launch(context.Background(), cfg); !errors.Is(err, boom) {
		t.Fatalf("Launch = %v, want the key derivation's error", err)
	}
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for dispatcherGoroutines() > before {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("%d dispatcher goroutines after a failed Launch, %d before", dispatcherGoroutines(), before)
		}
	}
}
