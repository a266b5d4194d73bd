package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// counts is what one or more nftables counters saw.
type counts struct{ packets, bytes uint64 }

func (c counts) add(o counts) counts { return counts{c.packets + o.packets, c.bytes + o.bytes} }
func (c counts) sub(o counts) counts { return counts{c.packets - o.packets, c.bytes - o.bytes} }

// trafficKinds are the comments of the counting rules, one per transport
// protocol: UDP carries the probes and the gossip, TCP the push/pull
// exchanges, joins and (cloister) the watches and other calls.
var trafficKinds = []string{"udp", "tcp"}

// nftCounter counts the packets the agents send each other on loopback, in
// an nftables table of its own. Every packet leaving a listening port of an
// agent is counted by a "sport" rule and accepted there, so a packet
// between two agent ports is counted once; a TCP connection dialled from an
// ephemeral port is counted by the "dport" rule, its replies by "sport".
// Bytes are whole IP packets, headers included.
type nftCounter struct {
	table string // in family inet
}

// errNoNft says why traffic cannot be counted here.
var errNoNft = errors.New("nft not installed or not root")

// newNftCounter creates the table; the caller must close it.
func newNftCounter() (*nftCounter, error) {
	if _, err := exec.LookPath("nft"); err != nil || os.Geteuid() != 0 {
		return nil, errNoNft
	}
	n := &nftCounter{table: fmt.Sprintf("cloister_bench_%d", os.Getpid())}
	var rules strings.Builder
	fmt.Fprintf(&rules, "table inet %s {\n set ports { type inet_service; }\n", n.table)
	rules.WriteString(" chain out {\n  type filter hook output priority 0; policy accept;\n")
	for _, proto := range trafficKinds {
		for _, dir := range []string{"sport", "dport"} {
			fmt.Fprintf(&rules, "  oifname \"lo\" ip daddr 127.0.0.0/8 meta l4proto %s th %s @ports counter accept comment %q\n",
				proto, dir, proto)
		}
	}
	rules.WriteString(" }\n}\n")
	if err := nft(rules.String(), "-f", "-"); err != nil {
		return nil, err
	}
	return n, nil
}

// count makes the table count exactly the traffic of these ports.
func (n *nftCounter) count(ports []int) error {
	if err := nft("", "flush", "set", "inet", n.table, "ports"); err != nil {
		return err
	}
	elems := make([]string, len(ports))
	for i, p := range ports {
		elems[i] = strconv.Itoa(p)
	}
	return nft("", "add", "element", "inet", n.table, "ports", "{ "+strings.Join(elems, ", ")+" }")
}

// read returns the counters so far, by kind.
func (n *nftCounter) read() (map[string]counts, error) {
	out, err := exec.Command("nft", "-j", "list", "table", "inet", n.table).Output()
	if err != nil {
		return nil, fmt.Errorf("nft list table %s: %w", n.table, err)
	}
	return parseCounters(out)
}

// close deletes the table.
func (n *nftCounter) close() error { return nft("", "delete", "table", "inet", n.table) }

func nft(stdin string, args ...string) error {
	cmd := exec.Command("nft", args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("nft %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// parseCounters sums the counters of the rules in `nft -j list table`
// output by the rules' comments. A table without a counting rule is an
// error, never zero traffic.
func parseCounters(js []byte) (map[string]counts, error) {
	var doc struct {
		Nftables []struct {
			Rule *struct {
				Comment string
				Expr    []struct {
					Counter *struct{ Packets, Bytes uint64 }
				}
			}
		}
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, fmt.Errorf("nft -j output: %w", err)
	}
	got := map[string]counts{}
	found := false
	for _, item := range doc.Nftables {
		if item.Rule == nil {
			continue
		}
		for _, e := range item.Rule.Expr {
			if e.Counter != nil {
				found = true
				got[item.Rule.Comment] = got[item.Rule.Comment].add(counts{e.Counter.Packets, e.Counter.Bytes})
			}
		}
	}
	if !found {
		return nil, errors.New("nft -j output: no counter")
	}
	return got, nil
}
