package main

import (
	"reflect"
	"testing"
	"time"
)

// Abridged from `nft -j list table` of nftables 1.0.6 with the bench's rules.
const nftJSON = `{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
 {"table": {"family": "inet", "name": "cloister_bench_1", "handle": 3}},
 {"set": {"family": "inet", "name": "ports", "table": "cloister_bench_1", "type": "inet_service", "handle": 2, "elem": [7946, 7947]}},
 {"chain": {"family": "inet", "table": "cloister_bench_1", "name": "out", "handle": 1, "type": "filter", "hook": "output", "prio": 0, "policy": "accept"}},
 {"rule": {"family": "inet", "table": "cloister_bench_1", "chain": "out", "handle": 3, "comment": "udp", "expr": [
   {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "sport"}}, "right": "@ports"}},
   {"counter": {"packets": 10, "bytes": 1500}}, {"accept": null}]}},
 {"rule": {"family": "inet", "table": "cloister_bench_1", "chain": "out", "handle": 4, "comment": "udp", "expr": [
   {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": "@ports"}},
   {"counter": {"packets": 1, "bytes": 100}}, {"accept": null}]}},
 {"rule": {"family": "inet", "table": "cloister_bench_1", "chain": "out", "handle": 5, "comment": "tcp", "expr": [
   {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "sport"}}, "right": "@ports"}},
   {"counter": {"packets": 4294967296, "bytes": 8589934592}}, {"accept": null}]}}]}`

func TestParseCounters(t *testing.T) {
	got, err := parseCounters([]byte(nftJSON))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]counts{"udp": {11, 1600}, "tcp": {1 << 32, 1 << 33}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseCounters = %v, want %v", got, want)
	}
	for _, bad := range []string{
		`not json`,
		`{"nftables": [{"table": {"family": "inet", "name": "x"}}]}`, // no counter: never zero traffic
	} {
		if got, err := parseCounters([]byte(bad)); err == nil {
			t.Errorf("parseCounters(%q) = %v, want an error", bad, got)
		}
	}
}

func TestTrafficPerMember(t *testing.T) {
	tr := traffic{n: 10, elapsed: 2e9, byKind: map[string]counts{"udp": {200, 40000}, "tcp": {20, 10000}}}
	if b, p := tr.perMember(""); b != 2500 || p != 11 {
		t.Errorf("all: %v B/s, %v packets/s, want 2500, 11", b, p)
	}
	if b, p := tr.perMember("tcp"); b != 500 || p != 1 {
		t.Errorf("tcp: %v B/s, %v packets/s, want 500, 1", b, p)
	}
}

func TestTrafficCPUPerMember(t *testing.T) {
	tr := traffic{n: 10, elapsed: 2e9, cpu: 100 * time.Millisecond}
	if got := tr.cpuPerMember(); got < 0.4999 || got > 0.5001 {
		t.Errorf("100 ms of CPU by 10 members over 2 s: %v%% of a core each, want 0.5", got)
	}
	if got := cpuSpread([]traffic{tr, {n: 10, elapsed: 2e9, cpu: -1}}); got != "-" {
		t.Errorf("an unread cluster: %q, want -", got)
	}
}
