// Package scaffold writes the deployment files of `cloister init`: a
// Dockerfile, a compose file and Kubernetes manifests for the user's module,
// from embedded text/template templates, and a random cluster secret.
package scaffold

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"text/template"
)

//go:embed templates/*.tmpl
var templatesFS embed.FS

// templates are parsed on first use, not at init: every command of the
// cloister binary links this package, and parsing them took about 0.5 ms
// of each start of `cloister agent`, which never writes a file.
var templates = sync.OnceValue(func() *template.Template {
	return template.Must(template.ParseFS(templatesFS, "templates/*.tmpl"))
})

// The files Write creates. Paths are relative to the module directory.
const (
	Dockerfile = "Dockerfile"
	Compose    = "compose.yaml"
	SecretFile = "cloister.secret"
	gitignore  = ".gitignore"
	dockerign  = ".dockerignore"
)

// KubernetesFile is the path of the manifests for app.
func KubernetesFile(app string) string { return path.Join("k8s", app+".yaml") }

// Params are what the templates need.
type Params struct {
	Module     string // the module path, from go.mod
	GoVersion  string // major.minor of go.mod's go line: the golang image tag
	App        string // CLOISTER_APP, the compose service, the Kubernetes names
	Main       string // the main package, relative: "." or "./cmd/app"
	Port       int    // the HTTP port of /healthz, /readyz, /cluster (CLOISTER_HTTP)
	GossipPort int    // the cloister port, UDP and TCP (CLOISTER_BIND)
	Replicas   int
	Image      string
}

// Majority is the smallest majority of the replicas: the consensus that
// starts the cluster, and the PodDisruptionBudget's minAvailable.
func (p Params) Majority() int { return p.Replicas/2 + 1 }

// Consensus is the CLOISTER_CONSENSUS the files set: a majority, so the
// cluster starts without a replica that is slow to come, and two disjoint
// clusters can never both start.
func (p Params) Consensus() int { return p.Majority() }

// labelRE is compiled on first use, not in every start of every program
// that links this package (cloister agent does).
var labelRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`) })

// DefaultApp derives an app name from a module path: its last element
// (skipping a major version suffix), lower case, other characters as '-'.
func DefaultApp(module string) string {
	parts := strings.Split(module, "/")
	last := parts[len(parts)-1]
	if len(parts) > 1 && regexp.MustCompile(`^v[0-9]+$`).MatchString(last) {
		last = parts[len(parts)-2]
	}
	var b strings.Builder
	for _, r := range strings.ToLower(last) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// ValidApp reports whether app can name the app: a DNS label short enough
// for "<app>-cloister".
func ValidApp(app string) bool { return labelRE().MatchString(app) && len(app) <= 63-len("-cloister") }

// Validate checks p; each error names the flag of `cloister init` that sets
// the field.
func (p Params) Validate() error {
	// <app>-cloister and <app>-peers must be DNS labels (63 characters).
	if !ValidApp(p.App) {
		return fmt.Errorf("--app %q: want lower-case letters, digits and '-' (a DNS label of at most %d characters, not starting or ending with '-')", p.App, 63-len("-cloister"))
	}
	if (p.Main != "." && !strings.HasPrefix(p.Main, "./")) || strings.Contains(p.Main, "..") {
		return fmt.Errorf("--main %q: want a package directory inside the module, such as . or ./cmd/%s", p.Main, p.App)
	}
	if p.Port < 1 || p.Port > 65535 {
		return fmt.Errorf("--port %d: want 1 to 65535", p.Port)
	}
	if p.GossipPort < 1 || p.GossipPort > 65535 {
		return fmt.Errorf("--gossip-port %d: want 1 to 65535", p.GossipPort)
	}
	if p.Port == p.GossipPort {
		return fmt.Errorf("--port and --gossip-port are both %d: the HTTP port and the cloister port must differ", p.Port)
	}
	if p.Replicas < 1 || p.Replicas > 1000 {
		return fmt.Errorf("--replicas %d: want 1 to 1000", p.Replicas)
	}
	if p.Image == "" || strings.ContainsAny(p.Image, " \t\n\"'") {
		return fmt.Errorf("--image %q: want an image reference such as %s:latest", p.Image, p.App)
	}
	return nil
}

// File is one rendered file.
type File struct {
	Path string // relative, slash-separated
	Data []byte
}

// Render renders the Dockerfile, the compose file and the manifests.
func Render(p Params) ([]File, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var files []File
	for _, f := range []struct{ tmpl, path string }{
		{"Dockerfile.tmpl", Dockerfile},
		{"compose.yaml.tmpl", Compose},
		{"kubernetes.yaml.tmpl", KubernetesFile(p.App)},
	} {
		var buf bytes.Buffer
		if err := templates().ExecuteTemplate(&buf, f.tmpl, p); err != nil {
			return nil, fmt.Errorf("rendering %s: %w", f.path, err)
		}
		files = append(files, File{Path: f.path, Data: buf.Bytes()})
	}
	return files, nil
}

// ReadModule reads the module path and the major.minor Go version from
// dir/go.mod.
func ReadModule(dir string) (module, goVersion string, err error) {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", "", fmt.Errorf("no go.mod in %s: run cloister init in your module's directory (or pass --dir)", dir)
		}
		return "", "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "module":
			module = strings.Trim(fields[1], `"`)
		case "go":
			v := strings.Split(fields[1], ".")
			if len(v) >= 2 {
				goVersion = v[0] + "." + v[1]
			}
		}
	}
	if module == "" {
		return "", "", fmt.Errorf("%s has no module line", filepath.Join(dir, "go.mod"))
	}
	if goVersion == "" {
		goVersion = "1.26"
	}
	return module, goVersion, nil
}

// ErrExists is returned (wrapped) when a file to write exists and force is
// false.
var ErrExists = errors.New("exists")

// Write renders p into dir. It refuses to overwrite the Dockerfile, the
// compose file or the manifests unless force; the secret file is never
// overwritten (a new secret would lock out a running cluster), only made
// when missing, with mode 0600. cloister.secret is added to .gitignore and
// .dockerignore. It returns what it did, one line per file.
func Write(dir string, p Params, force bool) ([]string, error) {
	if fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p.Main))); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("--main %q: no such directory in %s", p.Main, dir)
	}
	files, err := Render(p)
	if err != nil {
		return nil, err
	}
	if !force {
		var exist []string
		for _, f := range files {
			if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(f.Path))); err == nil {
				exist = append(exist, f.Path)
			}
		}
		if len(exist) > 0 {
			return nil, fmt.Errorf("%s: %w (--force overwrites)", strings.Join(exist, ", "), ErrExists)
		}
	}
	var done []string
	for _, f := range files {
		full := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return done, err
		}
		if err := os.WriteFile(full, f.Data, 0o644); err != nil {
			return done, err
		}
		done = append(done, "wrote "+f.Path)
	}
	secret := filepath.Join(dir, SecretFile)
	if _, err := os.Lstat(secret); err == nil {
		done = append(done, "kept "+SecretFile+" (it exists; a new secret would lock out a running cluster)")
	} else {
		b := make([]byte, 32)
		_, _ = rand.Read(b) // crypto/rand.Read never fails
		f, err := os.OpenFile(secret, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return done, err
		}
		_, err = fmt.Fprintln(f, base64.RawURLEncoding.EncodeToString(b))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return done, err
		}
		done = append(done, "wrote "+SecretFile+" (a random secret, mode 0600)")
	}
	for _, ign := range []string{gitignore, dockerign} {
		added, err := ensureLine(filepath.Join(dir, ign), SecretFile)
		if err != nil {
			return done, err
		}
		if added {
			done = append(done, "added "+SecretFile+" to "+ign)
		}
	}
	return done, nil
}

// ensureLine appends line to the file at name (creating it) unless a line
// equal to it, or to "/"+line, is there. It reports whether it appended.
func ensureLine(name, line string) (bool, error) {
	b, err := os.ReadFile(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == line || l == "/"+line || l == "**/"+line {
			return false, nil
		}
	}
	var add string
	if len(b) > 0 && !bytes.HasSuffix(b, []byte("\n")) {
		add = "\n"
	}
	add += "# the cluster secret (cloister init)\n" + line + "\n"
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return false, err
	}
	_, err = f.WriteString(add)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err == nil, err
}
