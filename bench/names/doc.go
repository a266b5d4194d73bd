// Command names measures cloister's registry and groups against Erlang/OTP's
// :global and pg on this machine, in one run, and prints a Markdown table
// (the one in docs/benchmarks.md):
//
//	go run ./bench/names                    # 3 and 10 nodes, 3 runs each
//	go run ./bench/names -n 3 -runs 1       # quicker
//	go run ./bench/names -erlang=false      # cloister alone
//
// cloister's nodes run in this process on loopback (real UDP and TCP), with
// the Local detection profile. Erlang's run as separate OS processes on
// loopback (erlang.escript starts N-1 peers with -name x@127.0.0.1), with
// their own epmd on a free loopback port, killed at the end.
//
// What is measured, per cluster size:
//   - registration latency, p50 and p99: 2,000 registrations one after the
//     other on one node (Register returns once the authority granted and
//     this node recorded the name; :global's register_name once every node
//     has it);
//   - registrations per second cluster-wide: 64 workers spread over every
//     node register 20,000 names;
//   - lookup ns/op and allocations (testing.Benchmark), whereis_name ns/op;
//   - visible everywhere, p50 and p99: from the call to register (or join)
//     on one node to the moment every node's local lookup finds it, over
//     200 names (for :global, register_name itself, which returns once all
//     nodes have it; for pg, polling get_members on every other node);
//   - catch-up: the time from a new node's launch until it knows 100,000
//     names held by the others (3 nodes only; :global is not measured: it
//     registers 100,000 names in minutes).
package main
