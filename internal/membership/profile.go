package membership

import (
	"fmt"
	"math"
	"time"
)

// Profile is a set of failure-detection timings, a subset of memberlist's
// knobs chosen for a target environment.
type Profile struct {
	Name                    string
	ProbeInterval           time.Duration // how often each member probes one other
	ProbeTimeout            time.Duration // how long a direct probe waits for an ack
	IndirectChecks          int           // helpers asked to probe when a direct probe fails
	SuspicionMult           int           // suspicion timeout = SuspicionMult × max(1, log10 N) × ProbeInterval
	SuspicionMaxTimeoutMult int           // upper bound multiplier while few members confirm the suspicion
	GossipInterval          time.Duration // how often memberlist gossips: its ticker wakes the process this often, even with nothing to send
	GossipNodes             int           // members gossiped to each interval
	RetransmitMult          int           // retransmits = RetransmitMult × log10(N+1)
	PushPullInterval        time.Duration // full state exchange with one random member
	TCPTimeout              time.Duration // bound on each stream dial/exchange (joins, push/pull)
	AwarenessMaxMultiplier  int           // Lifeguard: how far a struggling node stretches its own timeouts
	// Pace is the unit of cloister's own pacing: batches of direct
	// adverts and relays go one per Pace, and the publisher's quiet
	// periods and discovery's rejoin waits count in it. 0 means
	// GossipInterval.
	Pace time.Duration
}

// PaceInterval is Pace, or GossipInterval when Pace is 0.
func (p Profile) PaceInterval() time.Duration {
	if p.Pace > 0 {
		return p.Pace
	}
	return p.GossipInterval
}

// LAN is the default profile: real networks between hosts or containers.
// A crashed member is suspected within about 400 ms of its crash and
// declared failed a fixed suspicion timeout later (600 ms up to 10 members,
// 1 s at 50): about 1 s after the crash on a 10-node cluster.
//
// The suspicion timeout does not start longer and wait for other members
// to confirm (Lifeguard's dynamic timeout, SuspicionMaxTimeoutMult 1): a
// confirmation comes only when another member's round-robin probe reaches
// the dead one, up to a second later, which made detection at N=10 range
// from 0.95 to 1.6 s. A live member refutes a suspicion as soon as the
// gossip reaches it, milliseconds on a LAN, so the minimum is ample.
func LAN() Profile {
	return Profile{
		Name:                    "lan",
		ProbeInterval:           200 * time.Millisecond,
		ProbeTimeout:            150 * time.Millisecond,
		IndirectChecks:          3,
		SuspicionMult:           3,
		SuspicionMaxTimeoutMult: 1,
		// memberlist gossips only when it has messages queued, so a short
		// interval costs nothing when idle and halves assembly time.
		GossipInterval:         20 * time.Millisecond,
		GossipNodes:            4,
		RetransmitMult:         4,
		PushPullInterval:       5 * time.Second,
		TCPTimeout:             2 * time.Second,
		AwarenessMaxMultiplier: 8,
	}
}

// Steady is the conservative profile: memberlist's DefaultLANConfig
// probing (every second, 500 ms timeout), gossip (every 200 ms) and
// Lifeguard's suspicion (4 × log10 N probe intervals, stretched up to 6
// times until others confirm), with LAN's pace for cloister's own adverts
// (20 ms). memberlist's gossip ticker wakes every member every gossip
// interval even when nothing is queued: at LAN's 20 ms, 100 idle agent
// processes on two CPUs used 0.94 of a CPU, at 200 ms 0.19, as much as
// plain memberlist; and the 100-process start got faster, not slower
// (docs/benchmarks.md). For crowded hosts
// and CPU-limited containers, where LAN's 150 ms probe timeout is missed by
// live members: at 100 agent processes on two CPUs, LAN declared live
// members failed (docs/benchmarks.md). A killed process is still seen in
// milliseconds through the watches; a silent host takes about five times
// longer than with LAN.
func Steady() Profile {
	return Profile{
		Name:                    "steady",
		ProbeInterval:           time.Second,
		ProbeTimeout:            500 * time.Millisecond,
		IndirectChecks:          3,
		SuspicionMult:           4,
		SuspicionMaxTimeoutMult: 6,
		GossipInterval:          200 * time.Millisecond,
		GossipNodes:             4,
		RetransmitMult:          4,
		PushPullInterval:        30 * time.Second,
		TCPTimeout:              5 * time.Second,
		AwarenessMaxMultiplier:  8,
		Pace:                    20 * time.Millisecond,
	}
}

// Local is the profile for processes on one machine (loopback, tests,
// `cloister demo`), where round trips are microseconds.
func Local() Profile {
	return Profile{
		Name:                    "local",
		ProbeInterval:           100 * time.Millisecond,
		ProbeTimeout:            50 * time.Millisecond,
		IndirectChecks:          2,
		SuspicionMult:           3,
		SuspicionMaxTimeoutMult: 4,
		GossipInterval:          10 * time.Millisecond,
		GossipNodes:             4,
		RetransmitMult:          4,
		PushPullInterval:        2 * time.Second,
		TCPTimeout:              time.Second,
		AwarenessMaxMultiplier:  8,
	}
}

// WAN is memberlist's own WAN timing, for members across regions.
func WAN() Profile {
	return Profile{
		Name:                    "wan",
		ProbeInterval:           5 * time.Second,
		ProbeTimeout:            3 * time.Second,
		IndirectChecks:          3,
		SuspicionMult:           6,
		SuspicionMaxTimeoutMult: 6,
		GossipInterval:          500 * time.Millisecond,
		GossipNodes:             4,
		RetransmitMult:          4,
		PushPullInterval:        60 * time.Second,
		TCPTimeout:              30 * time.Second,
		AwarenessMaxMultiplier:  8,
	}
}

// ProfileByName returns the named preset: "lan", "steady", "local" or "wan".
func ProfileByName(name string) (Profile, bool) {
	switch name {
	case "lan", "":
		return LAN(), true
	case "local":
		return Local(), true
	case "wan":
		return WAN(), true
	case "steady":
		return Steady(), true
	}
	return Profile{}, false
}

// Validate reports the first timing that cannot work.
func (p Profile) Validate() error {
	switch {
	case p.ProbeInterval <= 0:
		return fmt.Errorf("probe interval must be positive, got %v", p.ProbeInterval)
	case p.ProbeTimeout <= 0 || p.ProbeTimeout >= p.ProbeInterval:
		return fmt.Errorf("probe timeout must be positive and below the probe interval, got %v", p.ProbeTimeout)
	case p.SuspicionMult < 1 || p.SuspicionMaxTimeoutMult < 1:
		return fmt.Errorf("suspicion multipliers must be at least 1")
	case p.GossipInterval <= 0 || p.GossipNodes < 1:
		return fmt.Errorf("gossip interval and gossip nodes must be positive")
	case p.Pace < 0:
		return fmt.Errorf("pace must not be negative, got %v", p.Pace)
	case p.PushPullInterval <= 0 || p.TCPTimeout <= 0:
		return fmt.Errorf("push/pull interval and TCP timeout must be positive")
	case p.IndirectChecks < 0 || p.RetransmitMult < 1 || p.AwarenessMaxMultiplier < 1:
		return fmt.Errorf("indirect checks, retransmit and awareness multipliers out of range")
	}
	return nil
}

// DetectionBudget is the time after which a crashed member is declared
// failed in a cluster of n, assuming enough members confirm the suspicion:
// one probe interval to be probed, the probe timeout, and the minimum
// suspicion timeout. Without confirmations the suspicion part can stretch up
// to SuspicionMaxTimeoutMult times.
func (p Profile) DetectionBudget(n int) time.Duration {
	scale := math.Max(1, math.Log10(math.Max(1, float64(n))))
	suspicion := time.Duration(float64(p.SuspicionMult) * scale * float64(p.ProbeInterval))
	return p.ProbeInterval + p.ProbeTimeout + suspicion
}
