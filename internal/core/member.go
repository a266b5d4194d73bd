package core

import (
	"cmp"
	"hash/fnv"
	"net/netip"
	"slices"
)

// Member is what the core knows about one member incarnation.
type Member struct {
	ID          string         // unique per incarnation: Name plus incarnation
	Name        string         // app@host:port
	Addr        netip.AddrPort // gossip address
	Incarnation uint64         // drawn at each start; newer starts draw larger values
	Roles       []string       // roles declared in the member's config
	Weight      float64        // capacity relative to other members
	View        uint64         // the view ID this member advertises
	State       State          // the state this member advertises
	AdvertSeq   uint64         // orders one incarnation's adverts: an older one never replaces a newer
	Quorum      QuorumAdvert   // what the member advertises of the quorum protocol
	RingsDigest uint64         // digest of the member's ring configuration; opaque to the core
	Hidden      bool           // a hidden member: never in a view (hidden.go)
}

// QuorumAdvert is a member's part in the quorum protocol, advertised with
// its view (see the package documentation). The zero value is a member
// that has never accepted a view and votes no.
type QuorumAdvert struct {
	Term   uint64 // the term of the member's reference view
	Accept uint64 // the term at which it accepts its advertised view; 0 if it does not
	Floor  uint64 // the highest term it has accepted or committed
	OK     bool   // its references let its advertised view be quorate
	// Committed: its reference is its advertised view, at Term: it saw
	// every member of that view accept it at Term.
	Committed bool
}

// View is the agreed-upon set of members.
type View struct {
	ID      uint64   // digest of the member IDs; equal IDs mean equal member sets
	Epoch   uint64   // local count of view changes, starting at 1
	Members []Member // sorted by Name, then ID
}

// sortMembers orders members by name, then ID, so views are deterministic.
func sortMembers(ms []Member) { slices.SortFunc(ms, compareMembers) }

// compareMembers orders by name, then ID.
func compareMembers(a, b Member) int {
	return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
}

// digest is FNV-1a over the sorted member IDs, each terminated by a zero
// byte. It never returns 0, which members advertise before they have a view.
func digest(ms []Member) uint64 {
	h := fnv.New64a()
	for _, m := range ms {
		h.Write([]byte(m.ID))
		h.Write([]byte{0})
	}
	if d := h.Sum64(); d != 0 {
		return d
	}
	return 1
}
