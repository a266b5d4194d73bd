package cloister

import "time"

// joinPerMember is how long a node waits between the state exchanges it
// starts toward discovered addresses that are not members, per member of
// its view. A join is a full state exchange of every member both sides
// know, so the cluster as a whole makes at most about 1/joinPerMember of
// them a second (50), whatever its size. Without that bound every node of
// a large start rejoined the addresses it had not heard of yet every
// discovery round: at 1,000 nodes sharing two CPUs that was a thousand
// exchanges of a thousand members a second, a quarter of the CPU plus the
// garbage collection it caused, and the launches themselves took minutes.
// Gossip and memberlist's own push-pull still spread every member; the
// joins only speed it up. A node alone in its view joins at once.
const joinPerMember = 20 * time.Millisecond

// joinPacer spaces the joins of one discovery loop. Only that loop uses it.
type joinPacer struct{ last time.Time }

// joinGap is the pause after a join for a view of members members.
func joinGap(members int) time.Duration {
	if members <= 1 {
		return 0
	}
	return time.Duration(members) * joinPerMember
}

// wait returns how long until a join may start, for a view of members
// members (0: now).
func (p *joinPacer) wait(now time.Time, members int) time.Duration {
	if p.last.IsZero() {
		return 0
	}
	return max(0, p.last.Add(joinGap(members)).Sub(now))
}

// started records a join started at now.
func (p *joinPacer) started(now time.Time) { p.last = now }
