// Package registry is a cluster-wide name registry for cloister, in the
// spirit of Erlang's :global: register a name for a handler on this node,
// unique across the quorate cluster, look it up from any node with no
// network round trip, and call or cast to it by name.
//
// Attach a Registry with Config.Services, then, once the node is Ready:
//
//	names := registry.New(registry.Options{})
//	cfg.Services = append(cfg.Services, names)
//	...
//	_, err := names.Register(ctx, "price-master", handler) // ErrNameTaken names the holder
//	reply, err := names.Call(ctx, "price-master", req)    // on whichever node holds it
//	reg, ok := names.Lookup("price-master")                // local, lock-free, 0 allocations
//
// # The rules
//
// Holders. Each node replicates the names it holds, and only those, to
// every member of its view (package internal/replica: one ordered stream
// of changes per peer, the whole state in chunks to a peer that joins or
// falls behind). Every node indexes what every member claims: Lookup reads
// that index, an immutable hash trie published atomically, so it takes no
// lock and allocates nothing.
//
// Authority. A name's authority is its owner on the default ring of the
// agreed view. It grants a name only while it is Ready and quorate, in the
// requester's own term (the cluster term, cloister's fencing token), and
// only once every member of the view has marked that term in its stream:
// a member marks a term after every change it made in earlier terms, so
// the authority has then seen every name granted before, by whichever
// authority owned it then. A grant is stamped (term, sequence); the
// requester records the name only if it is still in that term. Within a
// term the authority serializes the grants of a name, and refuses one
// while a live member holds it or was granted it (ErrNameTaken).
//
// Death. A name dies with its holder: failed, left, or replaced by a new
// incarnation (a new member ID). A node drops a departed member's names
// when it reaches Ready in a view without it, so every node hears it, and
// the authority, in the new term, grants the name again.
//
// Without quorum. A node whose side has no quorum (state NoQuorum)
// refuses Register with an error matching cloister.ErrNoQuorum (and
// cloister.ErrNotReady); it keeps answering Lookup from what it knew, with
// Registration.Stale set; and it gives up the names it holds (NameLost
// with a zero Winner, and a Lost event), since the side with quorum will
// grant them again once it agrees this node is gone. So no name is ever
// held by two members in the view of one Ready node.
//
// Conflicts. Two claims on one name meet only when both were granted: in
// passing under a quorum policy (a release and the next grant travel on
// different streams), and for real under QuorumNone, when both sides of a
// split granted it. Every node resolves them alike: a handoff beats the
// grant it was handed from; otherwise Options.Resolve picks (default
// LatestGrant: higher term, then higher sequence, then lower member ID),
// its fold ordered by holder ID so the result does not depend on arrival
// order. A node that loses a name is told (Options.OnNameLost, and a Lost
// event to its watchers) before the winner enters its index, and stops
// holding it.
//
// Handoff. Handoff hands names to another member in one step, for rolling
// restarts: the target records the same grant with a higher generation,
// which supersedes the old holder's claim everywhere, and answers once
// every member of its view has acknowledged it; only then does the old
// holder let go. Lookups find one holder or the other throughout, never
// nobody.
//
// Limits. Names are 1 to MaxName bytes. A node holds at most
// Options.MaxNames names and accepts at most as many from any one member;
// messages from peers are read with bounds, and garbage is refused with an
// error, never a panic.
package registry
