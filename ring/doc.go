// Package ring answers "who owns this key?" the same way on every node, so
// that work spreads over a cluster without coordination.
//
// A *Ring is built once from a member list with New and never changes; all
// its methods are safe for concurrent use without locks. When membership
// changes, build a new ring and publish it, for example through an
// atomic.Pointer[ring.Ring]; Diff then tells a node which slots it gained
// and lost. The standard library is the only dependency.
//
//	r, err := ring.New([]ring.Member{{ID: "a"}, {ID: "b"}, {ID: "c", Weight: 2}})
//	owner, err := r.OwnerString("user:42")   // one member, no allocation
//	replicas, err := r.OwnersNString("user:42", 3)
//
// # Design: a partitioned consistent-hash ring
//
// The key space is cut into a fixed power-of-two number of slots
// (DefaultSlots = 2^17; see WithSlots). A key's slot is the top bits of its
// 64-bit wyhash, so it never depends on the members. A table maps every
// slot to its owner, and a lookup is one hash, one shift and two loads:
// O(1) whatever the number of members, and allocation-free.
//
// The table is filled by consistent hashing. Every member puts
// max(1, round(4096*weight)) points on a 64-bit ring (PointsPerWeight),
// derived from the hash of its ID; a slot belongs to the member owning the
// first point at or after the slot's start. New finds these successors in
// O(points + slots): usually in one pass over the points keeping the
// smallest point inside each slot, without sorting; for rings with fewer
// than one point per 8 slots (up to 4 members of weight 1 at the default
// slot count), by radix-sorting the points by slot, which touches less
// memory. Either takes about 15 ms for 1000 members and well under 1 ms
// for a handful.
//
// This keeps the defining property of consistent hashing exactly: when a
// member joins, it takes the slots whose successor becomes one of its
// points and no other slot changes hands; when one leaves, only its slots
// move. Each key moves at most once, and the expected fraction moved is
// the ideal 1/(n+1). With thousands of points per member, points outnumber
// slots, and a slot's owner is in effect an independent draw weighted by
// capacity, so a member's slot count has a relative standard deviation
// near sqrt(n/slots): 2.8% for 100 members and 2^17 slots, which puts the
// most loaded of 100 members about 7% above the mean. WithBoundedLoad
// removes that tail.
//
// Alternatives considered: a classic sorted ring with binary search (the
// approach of groupcache, stathat/consistent and serialx/hashring) is
// O(log points) per lookup and needs many points per member for balance,
// which costs memory and cache misses; rendezvous hashing per key is O(n)
// per lookup; Maglev tables give O(1) lookups and tight balance but move
// more keys than necessary on every change and handle weights poorly; jump
// consistent hash only allows adding or removing the highest-numbered
// bucket; rendezvous hashing over the slots matches this design's quality
// but costs O(n * slots) to build. The ring-over-slots design gives O(1)
// lookups, minimal movement, weights and a cheap build together.
//
// # Determinism
//
// Members are sorted by ID before anything else, so the input order does
// not matter. Placement uses only integer arithmetic: weights become
// integer point counts through one IEEE multiplication and rounding, and
// bounded-load capacities are computed with 128-bit integers, so machines
// of different architectures build identical rings. Hashes are unseeded
// (unlike hash/maphash). Checksum digests the algorithm version, the
// options that affect placement, the members and the slot table, so two
// nodes can compare rings with one number.
//
// # Bounded load
//
// A lookup is stateless, so "load" here is the number of slots a member
// owns, which is proportional to the share of keys it receives. With
// WithBoundedLoad(ε), member m may own at most ceil((1+ε)·slots·w_m/W)
// slots, W being the total weight (consistent hashing with bounded loads,
// Mirrokni, Thorup and Zadimoghaddam, 2018). Slots are assigned in index
// order: a slot goes to its consistent-hash owner if that member is under
// its cap, otherwise to the first member with room on the slot's
// preference list (the one OwnersN returns). The cap bounds slots, not
// keys: the keys within slots still vary by chance (about 1% per member
// for 10,000 keys each), so the key-level maximum can exceed 1+ε slightly.
// Bounding adds movement on top of the plain ring, as the paper analyses;
// the benchmarks in docs/benchmarks-ring.md measure it.
//
// # Replicas
//
// OwnersN and its variants return a preference list of distinct members:
// the key's owner, then the owners of the following slots in order,
// skipping members already listed (as Dynamo walks its ring). A member
// follows another with probability proportional to its share, and a
// topology change alters a list only where a slot on its walk changed
// owner. Asking for more owners than the ring has returns every member
// together with ErrTooFew (returned as is, so that path does not allocate
// either); callers that accept fewer replicas can ignore that error.
//
// # Handoff
//
// Slots are the unit of handoff. Changes lists every run of slots whose
// owner differs between two rings; Diff narrows that to one member, with
// Gained and Lost runs naming the other side of each transfer, plus
// per-key and per-slot tests (GainedKey, LostSlot, ...). A slot range is
// also a contiguous range of the key-hash space, so stores that keep keys
// ordered by Slot can move whole ranges.
//
// # Costs and limits
//
// A ring takes 2 bytes per slot (256 KiB by default) plus its member list.
// New is linear in the total weight, up to MaxMembers members of weight at
// most MaxWeight. All nodes must use the same slot count and bounded-load
// setting; Checksum exposes a mismatch.
package ring
