package scaffold

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testParams() Params {
	return Params{Module: "example.com/shop", GoVersion: "1.26", App: "shop", Main: ".",
		Port: 8080, GossipPort: 4747, Replicas: 3, Image: "shop:latest"}
}

func module(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/shop\n\ngo 1.26.8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDefaultApp(t *testing.T) {
	for in, want := range map[string]string{
		"example.com/shop":            "shop",
		"github.com/acme/Shop_Svc/v2": "shop-svc",
		"shop":                        "shop",
		"example.com/x/v3":            "x",
		"example.com/weird.name":      "weird-name",
		"example.com/--":              "",
	} {
		if got := DefaultApp(in); got != want {
			t.Errorf("DefaultApp(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateNamesTheFlag(t *testing.T) {
	for flag, change := range map[string]func(*Params){
		"--app":         func(p *Params) { p.App = "Shop" },
		"--main":        func(p *Params) { p.Main = "../other" },
		"--port":        func(p *Params) { p.Port = 70000 },
		"--gossip-port": func(p *Params) { p.GossipPort = 0 },
		"--replicas":    func(p *Params) { p.Replicas = 0 },
		"--image":       func(p *Params) { p.Image = "a b" },
	} {
		p := testParams()
		change(&p)
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s: Validate() = %v, want an error naming %s", flag, err, flag)
		}
	}
	if err := testParams().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestMajority(t *testing.T) {
	for replicas, want := range map[int]int{1: 1, 2: 2, 3: 2, 4: 3, 5: 3, 7: 4} {
		p := testParams()
		p.Replicas = replicas
		if p.Majority() != want || p.Consensus() != want {
			t.Errorf("replicas %d: majority %d, consensus %d, want %d", replicas, p.Majority(), p.Consensus(), want)
		}
	}
}

func TestRender(t *testing.T) {
	p := testParams()
	p.Main = "./cmd/shop"
	p.Replicas = 5
	files, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range files {
		got[f.Path] = string(f.Data)
	}
	for path, wants := range map[string][]string{
		"Dockerfile": {"FROM golang:1.26 AS build", "CGO_ENABLED=0 go build -trimpath -o /out/shop ./cmd/shop",
			"FROM gcr.io/distroless/static-debian12", `ENTRYPOINT ["/shop"]`},
		"compose.yaml": {"  shop:\n", "replicas: 5", "CLOISTER_SENTRY: shop\n", `CLOISTER_CONSENSUS: "3"`,
			"CLOISTER_SECRET_FILE: /run/secrets/cloister", `CLOISTER_HTTP: ":8080"`, "file: ./cloister.secret"},
		"k8s/shop.yaml": {"name: shop-peers", "clusterIP: None", "publishNotReadyAddresses: true", "replicas: 5",
			"imagePullPolicy: IfNotPresent", "path: /readyz", "path: /healthz", "kind: PodDisruptionBudget",
			"minAvailable: 3", `value: "3"`, "secretName: shop-cloister"},
	} {
		for _, want := range wants {
			if !strings.Contains(got[path], want) {
				t.Errorf("%s lacks %q:\n%s", path, want, got[path])
			}
		}
	}
	if strings.Contains(got["compose.yaml"], "CLOISTER_BIND") {
		t.Error("compose.yaml sets CLOISTER_BIND for the default port")
	}
	p.GossipPort = 5000
	files, err = Render(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Path != Dockerfile && !strings.Contains(string(f.Data), `":5000"`) {
			t.Errorf("%s: no CLOISTER_BIND for --gossip-port 5000:\n%s", f.Path, f.Data)
		}
		if strings.Contains(string(f.Data), "4747") {
			t.Errorf("%s still mentions 4747:\n%s", f.Path, f.Data)
		}
	}
}

func TestWrite(t *testing.T) {
	dir := module(t)
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("/bin"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := testParams()
	if _, err := Write(dir, p, false); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Dockerfile", "compose.yaml", "k8s/shop.yaml", "cloister.secret"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, SecretFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secret mode %v, want 0600", fi.Mode().Perm())
	}
	secret, _ := os.ReadFile(filepath.Join(dir, SecretFile))
	if s := strings.TrimSpace(string(secret)); len(s) != 43 {
		t.Errorf("secret %d characters, want 43 (32 bytes, base64)", len(s))
	}
	gi, _ := os.ReadFile(filepath.Join(dir, ".gitignore"))
	if !strings.HasPrefix(string(gi), "/bin\n") || strings.Count(string(gi), "\ncloister.secret\n") != 1 {
		t.Errorf(".gitignore:\n%s", gi)
	}
	di, _ := os.ReadFile(filepath.Join(dir, ".dockerignore"))
	if !strings.Contains(string(di), "cloister.secret\n") {
		t.Errorf(".dockerignore:\n%s", di)
	}

	// A second run refuses, names every file, and changes nothing.
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Write(dir, p, false)
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "Dockerfile, compose.yaml, k8s/shop.yaml") {
		t.Fatalf("second Write: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "compose.yaml")); string(b) != "mine" {
		t.Fatal("compose.yaml overwritten without force")
	}

	// --force overwrites the files, keeps the secret, and does not repeat
	// the ignore lines.
	done, err := Write(dir, p, true)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "compose.yaml")); string(b) == "mine" {
		t.Fatal("compose.yaml not overwritten with force")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, SecretFile)); string(b) != string(secret) {
		t.Fatal("the secret changed")
	}
	if gi2, _ := os.ReadFile(filepath.Join(dir, ".gitignore")); string(gi2) != string(gi) {
		t.Errorf(".gitignore changed again:\n%s", gi2)
	}
	if !strings.Contains(strings.Join(done, "\n"), "kept cloister.secret") {
		t.Errorf("done: %q", done)
	}
}

func TestWriteMissingMain(t *testing.T) {
	p := testParams()
	p.Main = "./cmd/nope"
	_, err := Write(module(t), p, false)
	if err == nil || !strings.Contains(err.Error(), `--main "./cmd/nope"`) {
		t.Fatalf("Write: %v", err)
	}
}

func TestReadModule(t *testing.T) {
	dir := module(t)
	m, v, err := ReadModule(dir)
	if err != nil || m != "example.com/shop" || v != "1.26" {
		t.Fatalf("ReadModule = %q, %q, %v", m, v, err)
	}
	if _, _, err := ReadModule(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no go.mod") {
		t.Fatalf("ReadModule without go.mod: %v", err)
	}
}

// The README shows exactly what cloister init writes for github.com/acme/shop.
func TestREADMEShowsWhatInitWrites(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	files, err := Render(READMEParams)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		var heading string
		switch f.Path {
		case Compose:
			heading = "## Docker compose"
		case KubernetesFile(READMEParams.App):
			heading = "## Kubernetes"
		default:
			continue
		}
		if got := READMEBlock(string(readme), heading); got != string(f.Data) {
			t.Errorf("README's %q block is not what cloister init writes; it should be:\n%s\ngot:\n%s", heading, f.Data, got)
		}
	}
}
