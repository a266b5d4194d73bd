// Package transport gives a cloister node its single network port.
//
// One Transport owns one port number for both UDP and TCP, so a firewall
// needs one rule. Datagrams carry gossip. TCP connections are demultiplexed by
// their first byte, the stream Kind: memberlist's push/pull and gossip
// streams use KindGossip, node-to-node calls use KindCall. A connection that
// does not announce a known kind within the handshake timeout is closed and
// counted, never handed on.
//
// The Transport interface is the seam between cloister and the network: the
// membership layer adapts it to memberlist.Transport, the call layer dials
// and accepts its own streams on it, and the test harness can substitute an
// in-memory implementation that injects partitions and packet faults.
//
// Net is the implementation on real sockets. It is safe for concurrent use.
// Every goroutine it starts is owned by it and ends when Close returns.
package transport
