package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInitCommand(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module github.com/acme/shop\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	initCmd := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"init", "--dir", dir}, args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, errOut := initCmd()
	if code != 0 {
		t.Fatalf("init: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"wrote Dockerfile", "wrote compose.yaml", "wrote k8s/shop.yaml", "wrote cloister.secret", "consensus 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := initCmd(); code != 1 || !strings.Contains(errOut, "not overwriting Dockerfile, compose.yaml, k8s/shop.yaml") || !strings.Contains(errOut, "--force") {
		t.Errorf("second init: exit %d, stderr %q", code, errOut)
	}
	if code, out, errOut := initCmd("--force", "--replicas", "5", "--port", "9090"); code != 0 || !strings.Contains(out, "kept cloister.secret") {
		t.Errorf("init --force: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if !strings.Contains(string(b), "replicas: 5") || !strings.Contains(string(b), `CLOISTER_HTTP: ":9090"`) {
		t.Errorf("compose.yaml after --replicas 5 --port 9090:\n%s", b)
	}
	for args, want := range map[string]string{
		"--replicas 0":      "--replicas 0",
		"--app Shop":        `--app "Shop"`,
		"--main ./cmd/x":    `--main "./cmd/x"`,
		"--force extra":     `unexpected argument "extra"`,
		"--port notanumber": "-port",
	} {
		code, _, errOut := initCmd(strings.Fields(args)...)
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("init %s: exit %d, stderr %q, want it to name %q", args, code, errOut, want)
		}
	}
	var out2, errOut2 bytes.Buffer
	if code := run(context.Background(), []string{"init", "--dir", t.TempDir()}, &out2, &errOut2); code != 1 || !strings.Contains(errOut2.String(), "no go.mod") {
		t.Errorf("init without go.mod: exit %d, stderr %q", code, errOut2.String())
	}
}
