package cloister

import (
	"time"

	"github.com/cloister-go/cloister/internal/membership"
)

// Detection is the failure-detection timing (memberlist's SWIM and
// Lifeguard knobs). Start from a preset: LANDetection, LocalDetection or
// WANDetection.
//
// A crashed member is declared failed after about Budget(N): one
// probe interval until somebody probes it, the probe timeout, and the
// suspicion timeout SuspicionMult × max(1, log10 N) × ProbeInterval. The
// suspicion part starts SuspicionMaxTimeoutMult times longer and shrinks to
// that minimum as other members confirm the suspicion, which gives a slow
// but alive member (which refutes) more time; the LAN preset does not
// stretch it (SuspicionMaxTimeoutMult 1), so its budget is firm.
//
// memberlist's verdict is not the last word. A node reports a member
// failed only once it has confirmed the failure itself: the member answered
// none of three direct pings (three probe timeouts, 450 ms with LAN). A
// member that answers is never reported: a node that was cut off for a moment
// (paused, or behind a flapping link) declares healthy members dead when
// its suspicion timers run out after the outage, and memberlist accepts
// such a verdict everywhere at once. So a silent host is reported about
// Budget(N) plus that confirmation after it went silent.
//
// A process that dies while its host stays up is seen sooner: each node
// keeps a call open to the two members after it in ID order; when that
// connection breaks and a new connection to the member's port is refused,
// the node reports the member failed and tells every other member, each of
// which checks the port the same way before it acts (milliseconds on a
// LAN; the hint alone never fails a member).
//
// Joins and failures are applied in batches: while the member set keeps
// changing, a node holds the changes until none came for 50 ms (at most
// 500 ms), so a burst of failures or a mass start is one view change.
type Detection struct {
	Name                    string        // preset name, for logs
	ProbeInterval           time.Duration // each member probes one other this often
	ProbeTimeout            time.Duration // direct probe ack deadline; below ProbeInterval
	IndirectChecks          int           // members asked to probe on our behalf after a failed probe
	SuspicionMult           int           // minimum suspicion = SuspicionMult × max(1, log10 N) × ProbeInterval
	SuspicionMaxTimeoutMult int           // suspicion starts at this multiple of the minimum
	GossipInterval          time.Duration // memberlist gossips this often; its ticker wakes the process this often even with nothing to send
	GossipNodes             int           // to this many members
	RetransmitMult          int           // each message is retransmitted RetransmitMult × log10(N+1) times
	PushPullInterval        time.Duration // full state exchange with a random member
	TCPTimeout              time.Duration // bound on each join / push-pull exchange
	AwarenessMaxMultiplier  int           // Lifeguard: how far a slow node stretches its own timeouts
	// Pace is the unit of cloister's own pacing: direct adverts go to
	// at most 64 members per Pace, relays pass batches on one per Pace,
	// and adverts wait for quiet periods and discovery for rejoins
	// counted in it. 0 means GossipInterval.
	Pace time.Duration
}

// pace is d.Pace, or d.GossipInterval when that is 0.
func (d Detection) pace() time.Duration { return membership.Profile(d).PaceInterval() }

// LANDetection is the fast preset, for hosts or containers on one network
// whose CPUs are not crowded: a silent host on a 10-node cluster is
// declared failed about 1 s after it went silent. It waits at most three
// 150 ms probe timeouts for a member's answer, which a member starved of
// CPU misses: with 100 agent processes on two CPUs (load average 60) it
// declared live members failed thousands of times and the churn kept the
// cluster from assembling (docs/benchmarks.md). Choose it explicitly.
func LANDetection() Detection { return Detection(membership.LAN()) }

// LocalDetection is for processes on one machine: `cloister demo`. It
// probes twice as often as LAN with a 50 ms timeout, which a crowded
// machine misses: a hundred nodes in one process sharing two CPUs never
// settled with it (cloistertest uses LAN).
func LocalDetection() Detection { return Detection(membership.Local()) }

// SteadyDetection is the default, built to be never wrong on crowded hosts
// and CPU-limited containers: memberlist's LAN probing (1 s, 500 ms
// timeout), gossip (200 ms) and Lifeguard-stretched suspicion, with LAN's
// pace for cloister's own adverts (20 ms). memberlist's gossip ticker
// wakes a member every gossip interval even when it has nothing to send,
// which at LAN's 20 ms made idle members cost about four times plain
// memberlist's CPU (docs/benchmarks.md). A killed
// process is seen as fast as with LAN (through the watches: hundreds of
// milliseconds at 100 members); a silent host about five times later
// (about 11 s at 100 members).
func SteadyDetection() Detection { return Detection(membership.Steady()) }

// WANDetection is memberlist's WAN timing, for members across regions.
func WANDetection() Detection { return Detection(membership.WAN()) }

// DetectionByName returns the preset named "lan", "steady", "local" or
// "wan".
func DetectionByName(name string) (Detection, bool) {
	p, ok := membership.ProfileByName(name)
	return Detection(p), ok
}

// Budget is the expected time to declare a crashed member failed in a
// cluster of n members once other members confirm the suspicion.
func (d Detection) Budget(n int) time.Duration { return membership.Profile(d).DetectionBudget(n) }
