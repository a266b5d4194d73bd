// Package cloister gives Go services the clustering Erlang/OTP programmers
// take for granted: start the same binary several times and the instances
// find each other, wait until enough of them are there, agree on who is in
// the cluster, and tell the application about every change.
//
// # Quick start
//
//	cfg, err := cloister.ConfigFromEnv() // CLOISTER_SENTRY, CLOISTER_CONSENSUS, CLOISTER_SECRET, ...
//	if err != nil { log.Fatal(err) }
//	cfg.Listeners = append(cfg.Listeners, cloister.ListenerFunc(func(from, to cloister.State, s cloister.Snapshot) {
//		log.Printf("cluster %s -> %s with %d members", from, to, len(s.View.Members))
//	}))
//	node, err := cloister.Start(ctx, cfg) // returns once Ready, or an *AssemblyError
//	if err != nil { log.Fatal(err) }
//	defer node.Stop(context.Background())
//
// With no CLOISTER_SENTRY the same code is a single-node cluster, Ready at
// once. With CLOISTER_SENTRY=app (a docker compose service name or a
// Kubernetes headless Service) every instance resolves the name to all its
// peers. With a comma-separated list of addresses, it is a static cluster.
//
// # Layers
//
// Discovery (the "sentry", package discovery) is polled continuously and
// the node joins through the first discovered address, not a live member,
// that answers (one state exchange merges both sides); discovery never
// removes anyone. Membership and failure detection are
// hashicorp/memberlist (SWIM with Lifeguard), on a single port shared by
// gossip over UDP and TCP and node-to-node calls (package transport; the
// calls are package rpc: Node.Call, Cast, Multicall, Multicast). On top,
// cloister adds identity, consensus and view agreement.
//
// # Identity
//
// A node is named App@host:port. The host is, in order: Config.Advertise; a
// specific Config.Bind address; the local interface address that appears
// among the sentry's answers; the first non-loopback interface address
// (IPv4 before IPv6); loopback. Each start draws a new incarnation, so a
// restarted instance is a new member (Member.ID) under the same name, and
// replaces its previous incarnation at once instead of waiting for the
// failure detector. Of two live nodes with one name (two nodes advertising
// one address), the one that started first keeps it and the other stops:
// its Start fails with ErrNameConflict. A node with Config.Hidden set
// (Erlang's -hidden) joins the gossip, sees the view and calls members,
// but is never in a view, ring or quorum; package leader builds a leader,
// singletons and term fencing on the view.
//
// # States
//
//	      Start
//	Down ───────► Assembling
//	                 │ Consensus members in the view
//	                 ▼
//	             Rehashing ─── every member accepted the view at one term ───► Ready
//	               ▲    ▲                                                       │
//	               │    └─────────────── the view changed ◄─────────────────────┤
//	               │                                                            │
//	               └── quorum back ── NoQuorum ◄── quorum lost (Config.Quorum) ─┘
//
//	any running state ── Stop ──► Stopping ──► Stopped
//
// What each state means:
//
//   - Down: created, not started.
//   - Assembling: the node has not yet taken part in a committed view and
//     its view holds fewer than Consensus members (or nobody in it has
//     started a cluster). Consensus is the start gate only: a node never
//     comes back here.
//   - Rehashing: the view is not agreed yet: not every member advertises
//     it or has accepted it. Before the first commit this is a proposal
//     of Consensus members or more; after it, a change being agreed (a
//     node that was Ready and keeps quorum stays in service meanwhile, see
//     Snapshot.Quorate).
//   - Ready: every member accepted this view at one term, and the view is
//     quorate, so every Ready node of the view computes the same rings and
//     term. A member seen on another view that accepted nothing there (one
//     that declared a live member dead and waits for its refutation) does
//     not take the others out of Ready.
//   - NoQuorum: the node has been in a committed view, and the members it
//     can reach are not a quorum under Config.Quorum: the network-split
//     signal, delivered to listeners as a state change, not an error. It
//     returns to Rehashing and Ready by itself when members come back.
//   - Stopping, Stopped: leaving, and left.
//
// A view's ID is a digest of its member IDs, and members gossip the view ID
// they hold; equal IDs mean equal member sets.
//
// # Events and listeners
//
// Each Listener in Config.Listeners, and each Subscribe channel, receives
// events in order on its own goroutine through a bounded queue: a slow
// listener delays only itself. When its queue is full, further events for it
// are dropped and counted (Node.DroppedEvents) and it receives an
// EventsDropped event before the next one it gets.
//
// # Security
//
// Config.Secret encrypts and authenticates gossip (AES-GCM, through
// memberlist's keyring, with a key derived from the secret by HKDF); a node
// with another secret never joins. The secret never appears in logs or
// printed configs. Running a sentry without a secret requires Config.Insecure
// and is logged as a warning at start. A node with no sentry and no secret
// draws a random secret: a cluster of one that nobody can join.
//
// # Concurrency
//
// Node methods are safe for concurrent use. Queries (State, View, Members,
// Snapshot) read an immutable snapshot without locks and hand each caller
// a copy of its own. Every goroutine a node starts ends before Stop
// returns, except: listener goroutines still delivering when Stop's
// context ends (or the one Stop is called from), and handlers still
// running, whose contexts are cancelled (the node's stop goroutine waits
// for them). Stop returns by its context's end, with its error, and may
// be called from a listener or a handler.
package cloister
