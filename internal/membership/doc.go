// Package membership is cloister's only importer of hashicorp/memberlist.
//
// It maps a cloister detection Profile onto memberlist's configuration,
// adapts a transport.Transport to memberlist.Transport (so gossip shares the
// node's single port and any fault-injecting transport reaches gossip too),
// carries the node's metadata, and turns memberlist's delegate callbacks into
// an ordered queue of Events that the node loop drains.
//
// Before memberlist reads an accepted gossip stream, the adapter checks its
// prefix (label, encrypted type, claimed length) and bounds the streams
// open at once and the bodies they claim (guard.go): memberlist would
// buffer up to 20 MiB per stream, from anybody, before decrypting it.
// memberlist's log lines about refused traffic become counters (Stats) and
// one summary per interval (logs.go); Join wraps refusals by a peer with
// another secret, label or security mode in ErrAuth.
//
// memberlist calls its delegates while holding its own locks, so the
// delegates here never block and never call back into memberlist: they only
// append to the queue. The queue is unbounded by design (a lost membership
// event would be a lost update); it grows only with membership churn that the
// consumer has not yet read.
package membership
