package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/cloister-go/cloister"
)

// runMembers prints the view of the node whose HTTP endpoint is at --addr,
// or, given a sentry, joins the cluster as a hidden node and prints the
// view it sees (with the term and the leader).
func runMembers(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("members", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "host:port of a node's HTTP endpoint ("+EnvHTTP+")")
	asJSON := fs.Bool("json", false, "print the raw JSON snapshot")
	o := addObserverFlags(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if o.hidden(fs) {
		node, svc, err := o.join(ctx, fs)
		if err != nil {
			return err
		}
		defer stopObserver(node)
		snap := node.Snapshot()
		if *asJSON {
			raw, err := json.Marshal(snap)
			if err != nil {
				return err
			}
			_, err = stdout.Write(append(raw, '\n'))
			return err
		}
		printObserved(stdout, snap, svc, nil)
		return nil
	}
	snap, raw, err := fetchSnapshot(ctx, *addr)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := stdout.Write(raw)
		return err
	}
	printSnapshot(stdout, snap)
	return nil
}

// fetchSnapshot reads GET /cluster from a node.
func fetchSnapshot(ctx context.Context, addr string) (cloister.Snapshot, []byte, error) {
	var snap cloister.Snapshot
	raw, err := getJSON(ctx, addr, "/cluster", &snap)
	return snap, raw, err
}

// printSnapshot writes a node's state and member table.
func printSnapshot(w io.Writer, s cloister.Snapshot) {
	fmt.Fprintf(w, "%s is %s (consensus %d), view %016x epoch %d\n",
		s.Self.Name, s.StateName, s.Consensus, s.View.ID, s.View.Epoch)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tSTATE\tAGREES\tINCARNATION")
	for _, m := range s.View.Members {
		agrees := "yes"
		if m.ID != s.Self.ID && m.ViewID != s.View.ID {
			agrees = "no"
		}
		self := ""
		if m.ID == s.Self.ID {
			self = " (self)"
		}
		fmt.Fprintf(tw, "  %s%s\t%s\t%s\t%016x\n", m.Name, self, m.StateName, agrees, m.Incarnation)
	}
	tw.Flush()
}
