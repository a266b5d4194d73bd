package cloister

import (
	"context"
	"errors"
	"net"
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

// Issue #12, item 9: a config from the environment is reported by its
// variables, in the field and in the advice, also by Launch.
func TestEnvConfigErrorsNameVariables(t *testing.T) {
	_, err := configFromLookup(func(k string) (string, bool) {
		v, ok := map[string]string{EnvSentry: "127.0.0.1:1"}[k]
		return v, ok
	})
	if err == nil || !strings.Contains(err.Error(), EnvSecret) || !strings.Contains(err.Error(), EnvInsecure) ||
		strings.Contains(err.Error(), "Insecure to") {
		t.Errorf("sentry without secret: %v, want it to name %s and %s", err, EnvSecret, EnvInsecure)
	}

	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg, err := configFromLookup(func(k string) (string, bool) {
		v, ok := map[string]string{EnvBind: busy.LocalAddr().String()}[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Launch(context.Background(), cfg)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != EnvBind {
		t.Errorf("Launch on a busy port from the environment = %v, want a ConfigError naming %s", err, EnvBind)
	}
	cfg.Bind = busy.LocalAddr().String() + "0" // set in code: named as the field
	if _, err = Launch(context.Background(), cfg); !errors.As(err, &ce) || ce.Field != "Bind" {
		t.Errorf("Launch with Bind set in code = %v, want it to name Bind", err)
	}
}
