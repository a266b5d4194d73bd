package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
)

func TestSecretCommand(t *testing.T) {
	seen := map[string]bool{}
	for range 3 {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"secret"}, &out, &errOut); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		line, ok := strings.CutSuffix(out.String(), "\n")
		if !ok || strings.Contains(line, "\n") {
			t.Fatalf("output %q is not one line", out.String())
		}
		if b, err := base64.RawURLEncoding.DecodeString(line); err != nil || len(b) != 32 {
			t.Fatalf("secret %q: %d bytes, %v", line, len(b), err)
		}
		if seen[line] {
			t.Fatal("the same secret twice")
		}
		seen[line] = true
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"secret", "-bytes", "8"}, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), "-bytes 8") {
		t.Fatalf("-bytes 8: exit %d, %q", code, errOut.String())
	}
}
