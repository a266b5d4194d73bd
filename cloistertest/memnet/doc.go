// Package memnet is an in-memory network with injectable faults, for
// testing how cloister nodes (or your own code on cloister) behave under
// partitions, packet loss, latency and frozen processes.
//
// A Network hands out transport.Transport values: Listen(addr) opens a
// host's port. A cloister node given such a transport sends both its
// gossip (memberlist's datagrams and streams) and its calls through it, so
// every fault injected on the network reaches both. Nothing touches a real
// socket: addresses are plain keys. Pick them from a range no real host
// uses, such as 198.18.0.0/15 (reserved for benchmarking) or 127.0.0.0/8.
//
// # Semantics
//
// Datagrams behave like UDP: WritePacket never reports loss. A datagram is
// dropped silently, and counted in Stats, when nobody listens at the
// destination, when a fault cuts the path, when Loss draws it, or when
// the receiver's Packets queue (PacketQueue) is full. Data is copied, so
// callers may reuse their buffers; Packet.From is the sender's address and
// Packet.At the delivery time.
//
// Streams behave like TCP. Dial fails at once with ECONNREFUSED when the
// path is open and nobody listens, and hangs until its context ends when
// the path is cut or the accept queue is full, as a dial whose SYNs are
// dropped does; if the path opens, or the queue has room, before that, it
// succeeds. Streams are
// full net.Conns with deadlines; each direction buffers StreamBuffer bytes
// and a writer blocks while its buffer is full. Streams are reliable:
// bytes written while the path is cut are held and arrive, in order, when
// it opens again, unless the reader closes first; Loss never applies to
// them. Closing one end lets the peer read everything sent before, then
// io.EOF.
//
// # Transports
//
// A transport from Listen implements transport.Transport. Its Packets and
// Streams channels are never closed. Its Close closes its streams (their
// peers read what was sent before, then io.EOF, and their writes fail),
// drops the datagrams still on their way to it, waits for its goroutine and
// frees the address: a restarted node may Listen at it again at once.
// Faults belong to addresses, not transports, so a node restarted at an
// address keeps that address's faults. After Close, Dial and WritePacket
// return transport.ErrClosed.
//
// Network.Crash closes several transports at one instant, as when their
// processes are killed together: from that instant every one of them
// refuses dials and neither sends nor receives, then their streams are
// closed. Closing them one by one spreads the kills over the time each
// Close waits for its goroutine, long in a busy process.
//
// The model is simpler than TCP in one way: only the direction of the
// bytes matters to a stream, so a one-way Block holds the bytes it cuts
// but lets the reverse direction flow (there are no acknowledgements to
// lose). A dial needs both directions.
//
// # Faults
//
// Partition, Block, Isolate, Loss, Delay and Pause change the network's
// fault state; Heal clears it all. Every method is safe to call
// concurrently with traffic, and every change applies to traffic sent
// after it. Traffic already sent is judged when it was sent: a datagram
// or stream byte already on its way (waiting out a Delay) still arrives
// when a partition, block or isolation starts. The exception is Pause,
// which freezes the receiver itself: nothing is delivered to a paused
// address, whenever it was sent, until Unpause or Heal. A fault applies to
// traffic between two addresses whether or not anybody listens on them.
//
// Traffic from an address to itself is never cut by a partition, block or
// isolation.
//
// # Determinism
//
// The only randomness (which datagrams Loss drops, the jitter of Delay)
// comes from one source seeded by New, so the same sequence of calls
// gives the same drops and delays. Goroutine scheduling still decides the
// order of concurrent calls.
//
// # Resources
//
// Every queue is bounded (see the constants). Each transport runs one
// goroutine, which delivers delayed and held datagrams and ends when the
// transport is closed; streams run none. Network.Close closes every
// transport.
package memnet
