package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/cloister-go/cloister"
)

// EnvHTTP is the address of the agent's status endpoints.
const EnvHTTP = cloister.EnvHTTP

// runAgent runs one node until ctx ends (SIGINT/SIGTERM), then leaves
// gracefully. Configuration: CLOISTER_* variables, then flags. The secret
// is read only from the environment or a file, never from argv.
func runAgent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	app := fs.String("app", "", "application name (CLOISTER_APP)")
	sentry := fs.String("sentry", "", "DNS name, srv:NAME or comma-separated addresses (CLOISTER_SENTRY)")
	consensus := fs.Int("consensus", 0, "live members required for Ready (CLOISTER_CONSENSUS)")
	bind := fs.String("bind", "", "ip:port or :port to listen on (CLOISTER_BIND)")
	advertise := fs.String("advertise", "", "ip or ip:port peers use (CLOISTER_ADVERTISE)")
	detection := fs.String("detection", "", "failure detection: lan, steady, local or wan (CLOISTER_DETECTION)")
	secretFile := fs.String("secret-file", "", "file holding the cluster secret (CLOISTER_SECRET_FILE)")
	httpAddr := fs.String("http", os.Getenv(EnvHTTP), "address for /healthz, /readyz, /cluster ("+EnvHTTP+")")
	jsonOut := fs.Bool("json", false, "print events as JSON lines")
	logLevel := fs.String("log", "warn", "log level on stderr: debug, info, warn, error")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	set := map[string]bool{} // the flags given
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["consensus"] && *consensus < 1 {
		return fmt.Errorf("--consensus: must be a whole number of at least 1, got %d", *consensus)
	}
	for name, val := range map[string]string{
		cloister.EnvApp: *app, cloister.EnvSentry: *sentry, cloister.EnvBind: *bind,
		cloister.EnvAdvertise: *advertise, cloister.EnvDetection: *detection, cloister.EnvSecretFile: *secretFile,
	} {
		if val != "" {
			os.Setenv(name, val)
		}
	}
	if set["consensus"] {
		os.Setenv(cloister.EnvConsensus, strconv.Itoa(*consensus))
	}
	cfg, err := cloister.ConfigFromEnv()
	if err != nil {
		return flagError(err, set)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log: %w", err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	printer := newEventPrinter(stdout, *jsonOut)
	defer printer.close() // after the last line: "exited", or an error's
	cfg.Listeners = append(cfg.Listeners, printer)
	// The agent serves the dashboard beside its probes: /dashboard/ on
	// the same address (read-only, no metrics registry needed).
	cfg.Dashboard = *httpAddr != ""

	node, err := cloister.Launch(ctx, cfg)
	if err != nil {
		return flagError(err, set)
	}
	printer.print(map[string]any{"event": "started", "name": node.Self().Name, "id": node.Self().ID,
		"consensus": cfg.Consensus}, fmt.Sprintf("started %s (consensus %d)", node.Self().Name, cfg.Consensus))

	var srv *http.Server
	var served sync.WaitGroup
	if *httpAddr != "" {
		ln, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			node.Stop(context.Background())
			return fmt.Errorf("%s: %w", EnvHTTP, err)
		}
		srv = &http.Server{Handler: node.Handler(), ReadHeaderTimeout: 5 * time.Second}
		served.Add(1)
		go func() {
			defer served.Done()
			_ = srv.Serve(ln)
		}()
	}

	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stopErr := node.Stop(stopCtx)
	if srv != nil {
		_ = srv.Shutdown(stopCtx)
		served.Wait()
	}
	if stopErr != nil {
		// Typically every peer is leaving at the same moment; the leave
		// still happened, only its broadcast could not be confirmed.
		cfg.Logger.Warn("stopped", "err", stopErr)
	}
	printer.print(map[string]any{"event": "exited"}, "exited")
	return nil
}

// flagVars maps each agent flag that sets a variable to it.
var flagVars = map[string]string{
	"app": cloister.EnvApp, "sentry": cloister.EnvSentry, "consensus": cloister.EnvConsensus,
	"bind": cloister.EnvBind, "advertise": cloister.EnvAdvertise, "detection": cloister.EnvDetection,
	"secret-file": cloister.EnvSecretFile,
}

// flagError names the flag the user typed in a config error about the
// variable that flag set.
func flagError(err error, set map[string]bool) error {
	var ce *cloister.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	for name, v := range flagVars {
		if set[name] && ce.Field == v {
			out := *ce
			out.Field = "--" + name
			return &out
		}
	}
	return err
}
