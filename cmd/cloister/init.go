package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/cloister-go/cloister/internal/scaffold"
)

// runInit writes a Dockerfile, compose.yaml, k8s/<app>.yaml and a random
// cloister.secret for the module in --dir (default: the current directory).
func runInit(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".", "the module's directory (where go.mod is)")
	app := fs.String("app", "", "application name: CLOISTER_APP, the compose service, the Kubernetes names (default: from the module path)")
	mainPkg := fs.String("main", ".", "the main package to build, relative to the module, e.g. ./cmd/shop")
	port := fs.Int("port", 8080, "the HTTP port of /healthz, /readyz, /cluster (CLOISTER_HTTP)")
	gossip := fs.Int("gossip-port", 4747, "the cloister port, UDP and TCP (CLOISTER_BIND)")
	replicas := fs.Int("replicas", 3, "replicas in compose.yaml and the Deployment; consensus and the PodDisruptionBudget are a majority of it")
	image := fs.String("image", "", "image name (default APP:latest)")
	force := fs.Bool("force", false, "overwrite the Dockerfile, compose.yaml and the manifests if they exist")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: cloister init [flags]\n\nWrites Dockerfile, %s, %s and %s for the Go module in --dir.\n\n",
			scaffold.Compose, scaffold.KubernetesFile("APP"), scaffold.SecretFile)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	module, goVersion, err := scaffold.ReadModule(*dir)
	if err != nil {
		return err
	}
	p := scaffold.Params{Module: module, GoVersion: goVersion, App: *app, Main: *mainPkg,
		Port: *port, GossipPort: *gossip, Replicas: *replicas, Image: *image}
	if p.App == "" {
		p.App = scaffold.DefaultApp(module)
		if !scaffold.ValidApp(p.App) {
			return fmt.Errorf("the module path %q gives no usable app name (%q): pass --app", module, p.App)
		}
	}
	if p.Image == "" {
		p.Image = p.App + ":latest"
	}
	done, err := scaffold.Write(*dir, p, *force)
	for _, line := range done {
		fmt.Fprintln(stdout, line)
	}
	if err != nil {
		if errors.Is(err, scaffold.ErrExists) {
			return fmt.Errorf("not overwriting %w", err)
		}
		return err
	}
	fmt.Fprintf(stdout, "\n%d replicas of %s (consensus %d):\n  docker compose up --build\n  kubectl create secret generic %s-cloister --from-file=secret=%s && kubectl apply -f %s\n",
		p.Replicas, p.App, p.Consensus(), p.App, scaffold.SecretFile, scaffold.KubernetesFile(p.App))
	return nil
}
