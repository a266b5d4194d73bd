package cloister

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloister-go/cloister/discovery"
)

func TestValidate(t *testing.T) {
	sentry := discovery.Func(nil)
	tests := []struct {
		name   string
		change func(c *Config)
		field  string // "" means valid
	}{
		{"default is valid", func(c *Config) {}, ""},
		{"local is valid", func(c *Config) { *c = LocalConfig() }, ""},
		{"empty app", func(c *Config) { c.App = "" }, "App"},
		{"app with a space", func(c *Config) { c.App = "my app" }, "App"},
		{"app too long", func(c *Config) { c.App = strings.Repeat("a", 65) }, "App"},
		{"zero consensus", func(c *Config) { c.Consensus = 0 }, "Consensus"},
		{"short secret", func(c *Config) { c.Secret = Secret("short") }, "Secret"},
		{"sentry without secret", func(c *Config) { c.Sentry = sentry }, "Secret"},
		{"sentry without secret but insecure", func(c *Config) { c.Sentry = sentry; c.Insecure = true }, ""},
		{"sentry with secret", func(c *Config) { c.Sentry = sentry; c.Secret = Secret("0123456789abcdef") }, ""},
		{"bad bind", func(c *Config) { c.Bind = "nowhere" }, "Bind"},
		{"bind port out of range", func(c *Config) { c.Bind = ":70000" }, "Bind"},
		{"bad advertise", func(c *Config) { c.Advertise = "host.example" }, "Advertise"},
		{"advertise ip only", func(c *Config) { c.Advertise = "10.1.2.3" }, ""},
		{"advertise v6 with port", func(c *Config) { c.Advertise = "[fd00::1]:4747" }, ""},
		{"probe timeout above interval", func(c *Config) { c.Detection.ProbeTimeout = 2 * c.Detection.ProbeInterval }, "Detection"},
		{"zero discovery interval", func(c *Config) { c.DiscoveryInterval = 0 }, "DiscoveryInterval"},
		{"backoff below interval", func(c *Config) { c.DiscoveryMaxBackoff = time.Millisecond }, "DiscoveryMaxBackoff"},
		{"bad role", func(c *Config) { c.Roles = []string{"ok", "not ok"} }, "Roles"},
		{"too many roles", func(c *Config) { c.Roles = make([]string, 17) }, "Roles"},
		{"roles too long in all", func(c *Config) { c.Roles = longRoles(16) }, "Roles"},
		{"as many long roles as fit", func(c *Config) { c.Roles = longRoles(13) }, ""},
		{"zero weight", func(c *Config) { c.Weight = 0 }, "Weight"},
		{"zero listener queue", func(c *Config) { c.ListenerQueue = 0 }, "ListenerQueue"},
		{"nil listener", func(c *Config) { c.Listeners = []Listener{nil} }, "Listeners"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			before := fmt.Sprintf("%+v", c)
			err := c.Validate()
			if after := fmt.Sprintf("%+v", c); after != before {
				t.Fatalf("Validate modified the config")
			}
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want a *ConfigError matching ErrInvalidConfig", err)
			}
			if ce.Field != tt.field {
				t.Fatalf("field = %q, want %q (%v)", ce.Field, tt.field, err)
			}
		})
	}
}

func TestSecretIsNeverPrinted(t *testing.T) {
	c := DefaultConfig()
	c.Secret = Secret("super-secret-value-123")
	for _, s := range []string{
		fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s", c.Secret),
		fmt.Sprintf("%x", c.Secret), fmt.Sprint(c.Secret),
	} {
		if strings.Contains(s, "super-secret") || strings.Contains(s, fmt.Sprintf("%x", []byte("super"))) {
			t.Fatalf("secret leaked in %q", s)
		}
	}
	b, _ := c.Secret.MarshalText()
	if string(b) != "[REDACTED]" {
		t.Fatalf("MarshalText = %q", b)
	}
}

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestConfigFromEnv(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("file-secret-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("empty environment is a single node", func(t *testing.T) {
		c, err := configFromLookup(env(nil))
		if err != nil || c.Sentry != nil || c.Consensus != 1 || c.Bind != ":4747" {
			t.Fatalf("got %+v, %v", c, err)
		}
	})
	t.Run("full environment", func(t *testing.T) {
		c, err := configFromLookup(env(map[string]string{
			EnvApp: "shop", EnvSentry: "127.0.0.1:7001,127.0.0.1:7002", EnvConsensus: "2",
			EnvSecret: "0123456789abcdef", EnvBind: "127.0.0.1:7001", EnvAdvertise: "127.0.0.1",
			EnvDetection: "local", EnvRoles: "web, worker", EnvDiscoveryInterval: "300ms",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if c.App != "shop" || c.Consensus != 2 || c.Sentry == nil || string(c.Secret) != "0123456789abcdef" ||
			c.Detection.Name != "local" || len(c.Roles) != 2 || c.Roles[1] != "worker" || c.DiscoveryInterval != 300*time.Millisecond {
			t.Fatalf("got %+v", c)
		}
	})
	t.Run("secret file", func(t *testing.T) {
		c, err := configFromLookup(env(map[string]string{EnvSecretFile: secretFile, EnvSentry: "127.0.0.1:1"}))
		if err != nil || string(c.Secret) != "file-secret-0123456789" {
			t.Fatalf("got secret of %d bytes, %v", len(c.Secret), err)
		}
	})
	bad := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"consensus not a number", map[string]string{EnvConsensus: "three"}, EnvConsensus},
		{"consensus zero", map[string]string{EnvConsensus: "0"}, EnvConsensus},
		{"unknown detection", map[string]string{EnvDetection: "fast"}, EnvDetection},
		{"bad interval", map[string]string{EnvDiscoveryInterval: "soon"}, EnvDiscoveryInterval},
		{"bad insecure", map[string]string{EnvInsecure: "maybe"}, EnvInsecure},
		{"both secrets", map[string]string{EnvSecret: "0123456789abcdef", EnvSecretFile: secretFile}, EnvSecret},
		{"missing secret file", map[string]string{EnvSecretFile: "/nonexistent/secret"}, EnvSecretFile},
		{"sentry without secret", map[string]string{EnvSentry: "127.0.0.1:1"}, EnvSecret},
		{"short secret", map[string]string{EnvSecret: "hunter2"}, EnvSecret},
		{"bad app", map[string]string{EnvApp: "a b"}, EnvApp},
		{"bad bind", map[string]string{EnvBind: "x"}, EnvBind},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := configFromLookup(env(tt.vars))
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.want {
				t.Fatalf("error = %v, want a ConfigError naming %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "0123456789abcdef") || strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error shows the secret: %v", err)
			}
		})
	}
}

func TestNextPollBacksOffAndCaps(t *testing.T) {
	interval, maxBackoff := 100*time.Millisecond, time.Second
	for failures, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		for range 50 {
			got := nextPoll(interval, maxBackoff, failures)
			if got < want*8/10 || got > want*12/10 {
				t.Fatalf("failures=%d: %v outside %v ±20%%", failures, got, want)
			}
		}
	}
}

// longRoles returns n distinct roles of the longest length allowed.
func longRoles(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%02d%s", i, strings.Repeat("r", 30))
	}
	return out
}
