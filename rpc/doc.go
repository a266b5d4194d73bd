// Package rpc is cloister's call layer: named request/reply calls and
// one-way casts between nodes, as raw bytes, on the node's single port.
//
// An Endpoint serves the handlers registered with Handle and calls peers
// with Call, Cast and Multicall. A Peer is an ID (in cloister, the member
// ID, which includes the incarnation) and an address. The membership layer
// reports departed members with PeerDown. CallTyped and HandleTyped add
// typed messages over a Codec (JSON by default).
//
// # Connections
//
// The first call to a peer opens a connection; concurrent first calls share
// the dial. An endpoint sends its calls and casts to a peer over the
// connection it dialled, and serves the peer's calls over the connections
// the peer dialled: two nodes that call each other have two connections,
// one each way. Calls are multiplexed: each request gets a number, handlers
// run concurrently, and replies come back in whatever order the handlers
// finish.
//
// One connection per direction lets a caller read its own reply. A dialled
// connection has no reader goroutine: reading it is a role held by one
// waiting caller at a time, which reads frames until its own answer comes,
// hands the other callers theirs, and passes the role to a caller still
// waiting, if any. With no call pending nobody reads it; the peer sends
// nothing unasked there (anything else is a protocol error). Likewise a
// request that arrives alone on an accepted connection runs on that
// connection's reader goroutine, which writes the answer itself, and a lone
// request is written by its caller. Casts, and requests under load, get
// goroutines of their own, and each connection's writer goroutine sends
// everything queued in one write, so many frames share a system call and a
// TLS record.
//
// The point is to avoid hand-offs between goroutines: on the 2-vCPU machine
// of docs/benchmarks.md, each goroutine woken while the other CPU is idle
// wakes a thread there and costs about 5 µs of a loopback round trip. Both
// sides have to do without: with a reader goroutine handing replies to
// callers and a goroutine per handler, a 64-byte TLS round trip took 21.5
// µs (p50); with the caller reading but a goroutine per handler, 25.1 µs;
// with handlers on the reader but a reader goroutine on the caller's side,
// 21.6 µs; with both, 16.1 µs. A pair of nodes calling each other pays for
// it with a second connection.
//
// A handler running on the reader holds up the reading of its connection,
// so the endpoint's watchdog, which looks every millisecond while handlers
// run that way, gives the reading to a new goroutine once such a handler has
// run for one to two milliseconds: frames behind a slow handler, a cancel
// for it included, wait at most that long, and handlers still run
// concurrently. When a caller's context ends while it reads, its read is
// interrupted through the read deadline, which takes effect only between
// frames, so that no frame is left half read for the next reader.
//
// A dialled connection that breaks, or that the peer closes, while no call
// is pending on it is noticed by the next call or cast on it rather than at
// once: that call fails with ErrNodeDown and the next one dials again (a
// cast's write may still succeed locally, and the cast is lost, like any
// cast to a peer that goes away).
//
// # Wire format
//
// A call connection is a transport stream of kind transport.KindCall (the
// transport writes and consumes the kind byte 'C'). What follows is, unless
// the endpoint is insecure, a TLS 1.3 handshake, and then frames inside TLS.
// Every frame starts with a 14-byte header, integers big-endian:
//
//	offset size field
//	0      1    type: 1 request, 2 cast, 3 reply, 4 error, 5 cancel, 6 hello
//	1      1    flags: reserved, must be 0
//	2      4    payload length in bytes (uint32)
//	6      8    request id (uint64): the dialler's numbering of its requests,
//	            which cancels, replies and errors refer to
//
// and the payload depends on the type:
//
//	request  name length (1 byte, 1..255) | name | timeout | body
//	cast     name length (1 byte, 1..255) | name | body
//	reply    body
//	error    code (1 byte) | message (UTF-8, at most 8 KiB)
//	cancel   empty
//	hello    version | status | id length | id | want length | want
//
// The timeout is an unsigned varint: the microseconds the caller still
// waits, or 0 for no deadline. It is relative so clocks need not agree; the
// handler's context gets a deadline that far from the request's arrival.
// Error codes: 1 the handler returned an error (RemoteError), 2 no handler
// (ErrNoHandler), 3 overloaded (ErrOverloaded), 4 too large (ErrTooLarge), 5 registered (the
// error's name length, name and text; see RegisterError). A reader takes a
// code it does not know for a handler error with that text.
//
// The dialler sends requests, casts and cancels; the acceptor sends replies
// and errors. A connection opens with one hello each way (protocol version
// 2; in version 1 either side sent requests). The dialler sends its ID and
// the ID it expects to reach; the acceptor answers with its own ID and a
// status (0 ok, 1 wrong peer, 2 unsupported version, 3 an ID the dialler's
// certificate does not prove: see Security; 4 TLS required, sent in the
// clear to a dialler that is not using it) and refuses when the
// expected ID is not its own, which the dialler checks as well. A caller that
// expects incarnation X of a member and reaches a restarted process Y at the
// same address fails with an error matching both ErrWrongPeer and
// ErrNodeDown and never talks to Y.
//
// The reader checks each header before it allocates anything: an unknown
// type, reserved flags or an impossible length for the type (a cancel with
// a payload, an error or hello above its bound) is ErrProtocol. A request,
// cast or reply whose length exceeds MaxMessageSize (plus the name and
// timeout) is skipped without being read into memory and answered with
// ErrTooLarge, and the connection goes on. Below the limit, a payload buffer
// grows as its bytes arrive, at most 64 KiB ahead of them, so a claimed
// length costs nothing until it is sent. Malformed frames close the
// connection and are counted (Stats.ProtocolErrors); nothing a peer sends
// can make the decoder panic (FuzzDecodeFrame).
//
// # Security
//
// With Config.Secret every connection is TLS 1.3 with mutual
// authentication derived from the cluster secret and bound to each
// endpoint's ID. HKDF-SHA256 (salt "cloister/rpc", info
// "cloister/rpc/ed25519/v2", a zero byte and the endpoint's ID) turns the
// secret and the ID into an ed25519 private key; each endpoint presents a
// self-signed certificate for it whose subject common name is its ID,
// requires the peer to present one, and accepts it only if its key is the
// one derived from the ID it names and one of the accepted secrets (checked
// in VerifyPeerCertificate; chains and dates play no part). TLS's
// CertificateVerify signature over the handshake transcript proves that
// each side holds the private key, that is, knows a secret. The hello that
// follows must carry the ID the certificate names: an acceptor answers
// another one with status 3 (bad ID), counts it (Stats.Impersonations) and
// closes the connection, so a handler's Request.From is the ID the caller
// proved; a dialler refuses an acceptor whose hello ID differs from its
// certificate's. The secret never travels, only public keys derived from
// it. A peer with another secret fails the handshake: its calls return
// ErrAuth and the accepting side counts it (Stats.AuthFailures) and closes
// the connection before reading a single frame.
//
// What the binding proves, and what it does not: anyone who knows a
// cluster secret can derive the key of any ID, so it does not stop a member
// that is itself malicious from deriving another member's key; it stops a
// member, or any software holding only its own derived key, from claiming
// another member's ID, and it ties the ID a handler sees to the TLS
// transcript. Members that must not trust each other need per-member
// credentials: Config.TLS with per-member certificates.
//
// Config.AcceptSecrets lists further secrets accepted from peers, for
// rotating the secret without downtime: an endpoint proves Config.Secret
// and accepts a peer whose key derives from any of them.
//
// The identity is built on first use, not by New, which only checks the
// secret's length and keeps a copy of it. The endpoint's first connection,
// whichever comes first of its first dial and the first call connection it
// accepts, derives the key and makes the certificate, once: connections
// that arrive meanwhile wait for that build and share it. The build costs
// about 0.15 ms of CPU, and 2 to 3 ms in a process that has not used
// ed25519 before (its precomputed tables, the certificate's signature and
// x509.CreateCertificate's check of it). An endpoint that never calls and
// is never called, like most of a starting cluster's for a while, does not
// pay it at all. The first call between two endpoints pays it instead, on
// both sides at once: the dialler builds after its connection is open,
// while the acceptor builds its own. Between two fresh endpoints in one
// process on the machine of docs/benchmarks.md, where both builds share its
// 2 vCPUs, the first call took 7 to 9 ms instead of about 3 ms (medians of
// 60 runs); later calls and connections are unaffected. Nothing is built in
// the background. The build cannot fail for a secret of valid length; if it
// did, every call and cast of the endpoint would return the error, and
// accepted connections would be closed, which their dialler sees as
// ErrAuth.
//
// The alternative was a home-made handshake (nonce challenge and HMAC) and
// AEAD framing with per-direction keys from HKDF over both nonces. TLS 1.3
// was chosen because it already provides, in a reviewed implementation,
// everything such a scheme would have to get right by itself: forward
// secrecy through ephemeral X25519 (an HMAC challenge keyed by the secret
// alone has none: a secret leaked later would decrypt recorded traffic),
// transcript binding against splicing and reflection, per-direction keys,
// record sequence numbers against replay and reordering, and key updates.
// Its cost is a handshake per connection, which is once per pair of nodes,
// and per-record AEAD (AES-GCM with hardware support, else
// ChaCha20-Poly1305), which is what the alternative would pay too. The write
// batching above makes one record carry many small frames: with 64-byte
// messages, secured and insecure throughput are within noise of each other;
// with 4 KiB messages the encryption costs about a third (see
// docs/benchmarks.md).
//
// Both designs share one limit: whoever can connect sees a value computed
// from the secret (here the public key, which the server presents before the
// client authenticates) and can test guesses of the secret offline. The
// secret must therefore be high-entropy, at least MinSecretLen random bytes,
// not a password.
//
// Config.TLS uses the caller's own certificates instead (set ClientAuth for
// mutual TLS). Config.Insecure sends everything in clear to anyone and must
// be chosen explicitly. Endpoints in different modes cannot talk: the
// dialler gets ErrAuth.
//
// An acceptor that refuses a dialler tells it before it closes the
// connection: a TLS alert (another secret or certificate; or, sent in the
// clear by an endpoint without TLS, a TLS handshake it cannot take), or a
// hello with a status (an endpoint with TLS answering a dialler in the
// clear). A connection that ends during the handshake without either is a
// peer that went away, typically a process that ended while it was being
// dialled (its kernel resets what it had accepted), or one already setting
// up MaxHandshakes connections: ErrNodeDown with ErrNotSent, like a dial
// refused. (Such a connection used to be ErrAuth, so that a member killed
// while it was being dialled was reported as holding another secret.) An
// acceptor built before this rule closes without a word when the modes
// differ, and its dialler sees ErrNodeDown.
//
// # Limits and failures
//
// Bodies above MaxMessageSize fail with ErrTooLarge before anything is sent.
// A connection holds at most MaxPendingPerConn calls of this endpoint; an
// endpoint runs at most MaxInFlightPerConn handlers per connection and
// MaxInFlight in total. Beyond, calls fail at once with ErrOverloaded and
// received casts are dropped and counted. Above 256 KiB of queued frames on a
// connection, calls wait for the writer (bounded by their context) and Cast
// fails with ErrOverloaded. Memory and goroutines stay bounded whatever
// peers send.
//
// Calls go only over connections the caller dialled to the address it was
// given, so a member cannot draw another member's calls to itself by
// claiming that member's ID in its hello.
//
// A broken connection, or PeerDown for its peer, fails every call pending on
// it at once with an error matching ErrNodeDown (wrapping the cause), rather
// than letting it wait for its deadline (the caller reading it gets the
// error from its read, the others are woken), and cancels the handlers it
// was running. When a caller's context ends, Call returns ctx.Err(); a cancelled
// context also sends a cancel frame, which cancels the remote handler's
// context (an expired deadline ends it by itself). Close fails pending calls
// with ErrClosed and returns once every goroutine the endpoint started has
// ended, handlers included.
package rpc
