// Command assembly measures, with real OS processes on loopback, how fast
// a cluster assembles, detects a crash (SIGKILL) and a pause (SIGSTOP), and
// propagates a graceful leave, for cloister agents (LAN and local
// profiles), hashicorp serf agents (LAN and local profiles, Debian package
// serf) and plain memberlist members at DefaultLANConfig, side by side in
// one run. It also counts false failure reports, including while one member
// is starved of CPU (stopped and continued every 100 ms for 5 s).
//
//	go run ./bench/assembly                      # N = 3, 10, 50, every system
//	go run ./bench/assembly -n 10 -systems cloister-lan,memberlist-lan
//
// Next to each assembly time it prints the CPU time (user and system, from
// /proc) that all members had used by then, since on a small machine a
// 50-process assembly is bound by CPU rather than by the protocol.
//
// On the first cluster of each system and size it also counts, after a
// settle (-settle, 5 s), the traffic the members send each other for a
// window (-window, 20 s), and reports bytes and packets per member per
// second, split into UDP (probes, gossip) and TCP (push/pull, joins,
// cloister's watches and calls). It counts with an nftables table of its
// own (deleted at the end, also on SIGINT or SIGTERM), so it needs nft and
// root; without them the phase is skipped and says so. -traffic measures
// only that, on -repeat fresh clusters per system and size. memberlist
// staggers its first push/pull by up to one PushPullInterval and then waits
// another (30 s at DefaultLANConfig, 60 s from 33 members on), so the
// default 20 s right after assembly sees its probes and gossip but not its
// push/pull; -settle 60s -window 60s (120 s at N=50) includes them:
//
//	go run ./bench/assembly -traffic -n 10,50 -systems cloister-lan,memberlist-lan,serf-lan
//
// Every time is taken when this program reads the event line from the
// observing process's output (cloister agent --json, serf's log, or this
// program's own memberlist member), so pipe latency is included equally
// for every system. Each measured phase runs on a freshly assembled cluster.
package main
