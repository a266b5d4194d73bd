package cloister

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretFileRotation(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := func(file string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			switch k {
			case EnvSecretFile:
				return file, true
			case EnvSentry:
				return "127.0.0.1:4747", true
			}
			return "", false
		}
	}
	cfg, err := configFromLookup(env(write("two", "new-secret-0123456789\r\n\nold-secret-0123456789\n")))
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg.Secret) != "new-secret-0123456789" || len(cfg.AcceptSecrets) != 1 || string(cfg.AcceptSecrets[0]) != "old-secret-0123456789" {
		t.Fatalf("secret %d bytes, accepted %d", len(cfg.Secret), len(cfg.AcceptSecrets))
	}
	cfg, err = configFromLookup(env(write("one", "only-secret-0123456789\n")))
	if err != nil || string(cfg.Secret) != "only-secret-0123456789" || len(cfg.AcceptSecrets) != 0 {
		t.Fatalf("one secret: %v", err)
	}
	for name, body := range map[string]string{"empty": "\n\n", "short second line": "only-secret-0123456789\nshort-secret\n"} {
		_, err := configFromLookup(env(write(strings.ReplaceAll(name, " ", "-"), body)))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != EnvSecretFile || strings.Contains(err.Error(), "short-secret") {
			t.Fatalf("%s: %v, want an error naming %s and not the secret", name, err, EnvSecretFile)
		}
	}
	if err := (Config{App: "a", Consensus: 1, Bind: ":0", AcceptSecrets: []Secret{Secret("old-secret-0123456789")}}).Validate(); err == nil {
		t.Fatal("AcceptSecrets without a Secret accepted")
	}
}
