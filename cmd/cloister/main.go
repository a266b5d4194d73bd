// Command cloister runs and inspects cloister clusters.
//
//	cloister demo [-n 3] [--keep]     a local cluster of OS processes, narrated
//	cloister agent [flags]            one node, configured by CLOISTER_* variables and flags
//	cloister members --addr HOST:PORT a running node's view, from its HTTP endpoint
//	cloister whois KEY... --addr H:P  which member owns each key
//	cloister secret [-bytes 32]       a fresh random cluster secret
//	cloister init [flags]             Dockerfile, compose.yaml, Kubernetes manifests, a secret
//	cloister run -n 3 -- CMD ARGS...  N local instances of your own service, until Ready
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	_ "github.com/cloister-go/cloister/cmd/cloister/internal/oneproc" // one P for an agent, set before the other initialisers
)

const usage = `usage: cloister <command> [flags]

commands:
  demo      start a local cluster of N processes, kill one, bring it back
  agent     run one node (configured by CLOISTER_* environment variables and flags)
  members   print the members: from a node's HTTP endpoint, or as a hidden node (--sentry)
  top       a live view of members, states, leader, term and call rates, as a hidden node
  whois     print which member owns each KEY, asking a running node
  secret    print a fresh random cluster secret (cloister secret > cloister.secret)
  init      write a Dockerfile, compose.yaml, Kubernetes manifests and a secret for your module
  run       run N local instances of your own service (cloister run -n 3 -- go run .)
  help      show this help

Run "cloister <command> -h" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "demo":
		err = runDemo(ctx, args[1:], stdout)
	case "agent":
		err = runAgent(ctx, args[1:], stdout, stderr)
	case "members":
		err = runMembers(ctx, args[1:], stdout)
	case "top":
		err = runTop(ctx, args[1:], stdout)
	case "whois":
		err = runWhois(ctx, args[1:], stdout)
	case "secret":
		err = runSecret(args[1:], stdout)
	case "init":
		err = runInit(args[1:], stdout, stderr)
	case "run":
		err = runRun(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "cloister: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0 // the command printed its usage
	case err != nil:
		// "cloister agent: invalid config: ...", not "cloister agent:
		// cloister: invalid config: ...".
		fmt.Fprintf(stderr, "cloister %s: %s\n", args[0], strings.TrimPrefix(err.Error(), "cloister: "))
		return 1
	}
	return 0
}

// parseFlags parses a command's flags. -h prints the usage on stdout (and
// Parse returns flag.ErrHelp, which exits 0); other errors are returned,
// and printed once, by run.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
	}
	return err
}
