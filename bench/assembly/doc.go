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
// Next to each assembly time it prints when the last process had been
// started (the bench starts them one after another, and no system can
// assemble sooner) and the CPU time (user and system, from /proc) that all
// members had used by then, since on a small machine a 50-process assembly
// is bound by CPU rather than by the protocol. It also prints when nine
// members in ten had assembled, recorded whether or not the rest did within
// the bound: at 100 processes on two CPUs, serf's and memberlist's clusters
// often leave a member or two out, and the verdict then compares at 90%.
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
// Fault phases (issue #11 item 2), each on a freshly assembled cluster of
// its own, with member N-1 as the victim where there is one, then a settle
// of 5 s in which reports still count:
//
//   - flap: the victim's link is cut for 1 s, ten times, 1 s apart. False
//     failures are reports about any member other than the victim (also
//     those the victim itself makes, shown apart); it also reports how
//     many observers declared the victim failed, which a system may do
//     when 1 s is longer than its detection budget.
//   - loss: 20% of the victim's packets, both ways, are dropped for 10 s.
//     Every failure report is false, about the victim too.
//   - cpucap: the victim is capped at 1% of one CPU (cgroup v1 cpu:
//     cfs_quota_us 1000 of cfs_period_us 100000) for 10 s, then uncapped.
//     False failures as for flap; it also prints how many periods the cap
//     throttled, to show it bit.
//   - partition: members 0..N/2 and the rest cannot reach each other for
//     -partition (90 s); then the rules are removed and the heal time is
//     measured per member: until it has seen again every member it
//     reported down (serf: member-join; memberlist: NotifyJoin) and, for
//     cloister, it is Ready on the full view of N. The reports during the
//     partition and until the heal are expected; false failures are the
//     reports in the 5 s after the heal. Plain memberlist has no reconnect:
//     after a partition longer than GossipToTheDeadTime (30 s) it does not
//     heal, and the phase waits -heal (90 s) for nothing.
//
// The link faults are nftables rules in chains of the bench's own table
// (fault_out, fault_in, fault_drop and the named counter fault_dropped in
// table inet cloister_bench_PID, also the traffic counter's; deleted at the
// end, on error, on SIGINT and on SIGTERM). They drop on the input hook only: a packet dropped on output
// fails the sender's sendto with EPERM, which memberlist takes for a local
// error rather than a lost probe. A member is matched by its listening
// port (UDP and TCP, source or destination) and by the cgroup v2 directory
// it was started in (socket cgroupv2; the output hook marks what it sends,
// the input hook looks up the receiving socket), which also covers the TCP
// connections it dials from ephemeral ports. Without a cgroup v2 hierarchy
// under /sys/fs/cgroup the rules match ports only and the bench says so;
// without nft or root, flap, loss and partition are skipped, and without
// the cgroup v1 cpu controller cpucap is, saying why. The cgroups the
// bench creates are removed at the end too.
//
//	go run ./bench/assembly -n 10 -systems cloister-lan,memberlist-lan,serf-lan -phases flap,loss,cpucap,partition -partition 20s
//
// -phases chooses the phases (default all: crash, pause, starve, leave,
// flap, loss, cpucap, partition; starve and leave share a cluster with the
// traffic count), -partition and -heal bound the partition phase, and
// -log FILE keeps every event line the members printed, stamped when it
// was read, with the bench's phase marks (lines with "#"), to trace a
// false failure to its observer, subject and moment; the false failures
// of the fault phases are also listed under the second table.
//
// Every time is taken when this program reads the event line from the
// observing process's output (cloister agent --json, serf's log, or this
// program's own memberlist member), so pipe latency is included equally
// for every system. Each measured phase runs on a freshly assembled cluster.
package main
