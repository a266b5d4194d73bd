package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/cloister-go/cloister"
)

// runWhois asks a running node which member owns each key.
func runWhois(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("whois", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "host:port of a node's HTTP endpoint ("+EnvHTTP+")")
	ringName := fs.String("ring", cloister.DefaultRing, "ring to ask")
	replicas := fs.Int("n", 1, "owners to list (the owner first, then replicas)")
	// Accept the keys before or after the flags: cloister whois KEY --addr A.
	var keys []string
	for len(args) > 0 {
		if err := parseFlags(fs, args, stdout); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		keys = append(keys, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(keys) == 0 {
		return fmt.Errorf("usage: cloister whois KEY... [--addr HOST:PORT] [--ring NAME] [-n N]")
	}
	for _, key := range keys {
		ans, err := fetchWhois(ctx, *addr, *ringName, key, *replicas)
		if err != nil {
			return err
		}
		names := []string{}
		for _, m := range ans.Owners {
			names = append(names, m.Name)
		}
		line := fmt.Sprintf("%s -> %s", key, ans.Owner.Name)
		if len(names) > 1 {
			line = fmt.Sprintf("%s -> %s", key, strings.Join(names, ", "))
		}
		fmt.Fprintf(stdout, "%s  (ring %s, view %016x, checksum %016x)\n", line, ans.Ring, ans.ViewID, ans.Checksum)
	}
	return nil
}

// fetchWhois reads GET /whois from a node.
func fetchWhois(ctx context.Context, addr, ringName, key string, n int) (cloister.WhoisAnswer, error) {
	q := url.Values{"key": {key}, "ring": {ringName}, "n": {fmt.Sprint(n)}}
	var ans cloister.WhoisAnswer
	_, err := getJSON(ctx, addr, "/whois?"+q.Encode(), &ans)
	return ans, err
}
