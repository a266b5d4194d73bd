package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/leader"
)

// observerFlags are the flags of the commands that join a cluster as a
// hidden node (members, top): they configure it as the agent's flags do,
// from CLOISTER_* variables first.
type observerFlags struct {
	app, sentry, bind, detection, secretFile *string
	timeout                                  *time.Duration
}

func addObserverFlags(fs *flag.FlagSet) observerFlags {
	return observerFlags{
		app:        fs.String("app", "", "application name (CLOISTER_APP)"),
		sentry:     fs.String("sentry", "", "join the cluster as a hidden node through this DNS name, srv:NAME or address list (CLOISTER_SENTRY)"),
		bind:       fs.String("bind", "", "ip:port or :port the hidden node listens on; members must reach it (CLOISTER_BIND; default :0)"),
		detection:  fs.String("detection", "", "failure detection: lan, steady, local or wan (CLOISTER_DETECTION)"),
		secretFile: fs.String("secret-file", "", "file holding the cluster secret (CLOISTER_SECRET_FILE, or CLOISTER_SECRET)"),
		timeout:    fs.Duration("timeout", 15*time.Second, "how long to wait for the cluster's view"),
	}
}

// hidden reports whether the command should join as a hidden node: a
// sentry was given by flag, or by CLOISTER_SENTRY without --addr.
func (o observerFlags) hidden(fs *flag.FlagSet) bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set["sentry"] || os.Getenv(cloister.EnvSentry) != "" && !set["addr"]
}

// join starts a hidden node and waits until it sees an agreed view.
func (o observerFlags) join(ctx context.Context, fs *flag.FlagSet) (*cloister.Node, *leader.Service, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, val := range map[string]string{
		cloister.EnvApp: *o.app, cloister.EnvSentry: *o.sentry, cloister.EnvBind: *o.bind,
		cloister.EnvDetection: *o.detection, cloister.EnvSecretFile: *o.secretFile,
	} {
		if val != "" {
			os.Setenv(name, val)
		}
	}
	if os.Getenv(cloister.EnvBind) == "" {
		os.Setenv(cloister.EnvBind, ":0")
	}
	cfg, err := cloister.ConfigFromEnv()
	if err != nil {
		return nil, nil, flagError(err, set)
	}
	cfg.Hidden = true
	cfg.Consensus = 1
	cfg.Logger = slog.New(slog.DiscardHandler)
	svc := leader.New(leader.Config{})
	cfg.Services = append(cfg.Services, svc)
	waitCtx, cancel := context.WithTimeout(ctx, *o.timeout)
	defer cancel()
	changes, unsubscribe := svc.Subscribe(4)
	defer unsubscribe()
	node, err := cloister.Start(waitCtx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("joining as a hidden node: %w", flagError(err, set))
	}
	// The service names the leader just after the node sees the view.
	for _, _, ok := svc.Leader(); !ok; _, _, ok = svc.Leader() {
		select {
		case <-changes:
		case <-waitCtx.Done():
			return node, svc, nil // printed as "leader none"
		}
	}
	return node, svc, nil
}

// stopObserver leaves the cluster.
func stopObserver(node *cloister.Node) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = node.Stop(ctx)
}

// printObserved writes what a hidden node sees: the view, its term and
// leader, and the members.
func printObserved(w io.Writer, s cloister.Snapshot, svc *leader.Service, rates map[string]string) {
	lead := "none"
	if m, t, ok := svc.Leader(); ok {
		lead = fmt.Sprintf("%s (term %d)", m.Name, t)
	}
	fmt.Fprintf(w, "cluster %s: view %016x, term %d, %d members, leader %s (seen from hidden node %s)\n",
		s.StateName, s.View.ID, s.Term, len(s.View.Members), lead, s.Self.Name)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	header := "  NAME\tSTATE\tTERM\tAGREES\tINCARNATION"
	if rates != nil {
		header += "\tCALLS/S"
	}
	fmt.Fprintln(tw, header)
	for _, m := range s.View.Members {
		agrees := "yes"
		if m.ViewID != s.View.ID {
			agrees = "no"
		}
		line := fmt.Sprintf("  %s\t%s\t%d\t%s\t%016x", m.Name, m.StateName, m.Term, agrees, m.Incarnation)
		if rates != nil {
			line += "\t" + rates[m.ID]
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

// runTop shows the cluster live, as a hidden node: members, states,
// terms, leader and each member's calls served per second, refreshed
// every --interval until interrupted (or --count refreshes).
func runTop(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("top", flag.ContinueOnError)
	o := addObserverFlags(fs)
	interval := fs.Duration("interval", time.Second, "refresh interval")
	count := fs.Int("count", 0, "stop after this many refreshes (0: until interrupted)")
	plain := fs.Bool("plain", false, "do not clear the screen between refreshes")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *interval <= 0 {
		return fmt.Errorf("--interval: must be positive, got %v", *interval)
	}
	if !o.hidden(fs) {
		return errors.New("top joins the cluster as a hidden node: give --sentry (or CLOISTER_SENTRY) and the secret (--secret-file, CLOISTER_SECRET or CLOISTER_SECRET_FILE)")
	}
	node, svc, err := o.join(ctx, fs)
	if err != nil {
		return err
	}
	defer stopObserver(node)
	prev := map[string]uint64{}
	last := time.Now()
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	for i := 0; *count == 0 || i < *count; i++ {
		now := time.Now()
		served := callsServed(ctx, node, *interval)
		rates := map[string]string{}
		for id, n := range served {
			rates[id] = "-"
			if p, ok := prev[id]; ok && n >= p {
				rates[id] = fmt.Sprintf("%.1f", float64(n-p)/now.Sub(last).Seconds())
			}
		}
		prev, last = served, now
		if !*plain {
			fmt.Fprint(stdout, "\x1b[H\x1b[2J")
		}
		fmt.Fprintf(stdout, "%s\n", now.Format("15:04:05"))
		printObserved(stdout, node.Snapshot(), svc, rates)
		if *count != 0 && i == *count-1 {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// callsServed asks every member how many calls it has served.
func callsServed(ctx context.Context, node *cloister.Node, within time.Duration) map[string]uint64 {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	out := map[string]uint64{}
	for _, r := range node.Multicall(ctx, cloister.CallsServedHandler, nil, node.Members()...) {
		if r.Err != nil {
			continue
		}
		if v, k := binary.Uvarint(r.Body); k > 0 {
			out[r.Member.ID] = v
		}
	}
	return out
}
