package cloistertest

import (
	"time"

	"github.com/cloister-go/cloister"
)

// sharedHostMembers is the largest cluster for which DetectionFor returns
// the LAN profile, and sharedHostProbes the number of nodes per unit of
// slowing of the probes beyond twice that.
const (
	sharedHostMembers = 100
	sharedHostProbes  = 200
	// sharedHostSquare is the cluster size beyond which the probes slow
	// with the square of the nodes in the process.
	sharedHostSquare = 500
)

// DetectionFor returns the failure-detection timing for n nodes that
// share one machine's CPUs (this harness, or bench/scale): the LAN profile
// up to 100 nodes; beyond, memberlist's own DefaultLANConfig timings
// (MemberlistDetection), with the probe interval and timeout stretched by
// n/200 from 200 nodes on (2.5 times at 500), so that the process as a
// whole sends at most about 200 probes a second, and beyond 500 nodes by
// n²/100,000 (10 times at 1,000: 100 probes a second). Beyond 500 nodes,
// everything else a node does in one process grows with the square of the
// nodes too (every alive message and every advert is decoded by every
// node): at 1,000 nodes with probes every 5 s (2.5 s timeouts) acks came
// late during the start and healthy nodes were declared failed 90 s in,
// and with probes every 10 s (5 s timeouts) every node was Ready on one
// view with no failure reported (docs/benchmarks.md).
//
// A deployed node's probing costs it the same whatever the cluster's
// size: one probe per probe interval. A process that runs n nodes pays n
// times that on the same CPUs; at 200 LAN nodes on two CPUs (1,000
// probes a second, each carrying gossip to decode) acks came after their
// timeouts, healthy nodes were declared failed, and the churn kept the
// cluster from ever agreeing: the issue's "one node capped at 1% of a
// CPU", for every node at once. memberlist's timings are built for such
// crowding (five times fewer probes than LAN, suspicions that Lifeguard
// stretches); at 500 nodes even they churned, and stretching the probes
// by 2.5 let the nodes assemble. A large in-process cluster measures the
// protocol (views, rounds, messages); its times are those of a crowded
// host, not of a deployment.
//
// Under the race detector (go test -race) every node costs several times
// as much CPU, and DetectionFor counts each as raceNodeCost nodes: 60
// nodes with the LAN profile under it were still Rehashing on their one
// view after 5 minutes on two CPUs, suspecting each other in turn, where
// 60 with the steady profile were Ready in 2.3 s.
func DetectionFor(n int) cloister.Detection { return detectionForLoad(n * nodeCost) }

// raceNodeCost is how many nodes' worth of CPU a node costs under the race
// detector, for DetectionFor: LAN up to 20 nodes.
const raceNodeCost = 5

// detectionForLoad is DetectionFor for n nodes' worth of CPU.
func detectionForLoad(n int) cloister.Detection {
	if n <= sharedHostMembers {
		return cloister.LANDetection()
	}
	d := MemberlistDetection()
	d.Name = "shared-host"
	if n > sharedHostProbes {
		// n/200, or n²/100,000 once that is more (beyond 500 nodes).
		num, den := time.Duration(n), time.Duration(sharedHostProbes)
		if n > sharedHostSquare {
			num, den = time.Duration(n*n), time.Duration(sharedHostProbes*sharedHostSquare)
		}
		d.ProbeInterval = d.ProbeInterval * num / den
		d.ProbeTimeout = d.ProbeTimeout * num / den
	}
	return d
}

// MemberlistDetection returns memberlist's DefaultLANConfig timings as a
// cloister.Detection: probes every second with a 500 ms timeout,
// suspicion 4 × log10 N probe intervals stretched up to 6 times, gossip
// every 200 ms to 3 members, a state exchange every 30 s.
func MemberlistDetection() cloister.Detection {
	d := cloister.LANDetection()
	d.Name = "memberlist"
	d.ProbeInterval = time.Second
	d.ProbeTimeout = 500 * time.Millisecond
	d.IndirectChecks = 3
	d.SuspicionMult = 4
	d.SuspicionMaxTimeoutMult = 6
	d.GossipInterval = 200 * time.Millisecond
	d.GossipNodes = 3
	d.RetransmitMult = 4
	d.PushPullInterval = 30 * time.Second
	d.TCPTimeout = 10 * time.Second
	d.AwarenessMaxMultiplier = 8
	return d
}
