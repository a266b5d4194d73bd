// Package cloistertest runs real cloister clusters inside one test process,
// the way net/http/httptest runs real servers.
//
// New(t, n) starts n nodes on loopback, each with its own port,
// LocalConfig's settings with the LAN detection profile (not the default,
// Steady: a test wants a silent node found in about a second), and a
// shared secret, finding each other through a sentry that lists every node
// of the cluster. By default New returns once
// every node is Ready. Nodes can then be stopped (a graceful leave), killed
// (sockets closed at once, no leave: what kill -9 looks like to the others),
// restarted (a new incarnation at the same address) and added.
//
// Every wait has a deadline and returns as soon as its condition holds; the
// harness never sleeps to wait. Everything it starts is stopped by
// t.Cleanup.
//
// WithMemNet runs the nodes on an in-memory network (package memnet)
// instead: the test can then partition them (Partition, Heal), cut traffic
// one way (Block), isolate a node, drop or delay its datagrams (Loss,
// Delay), freeze its traffic as under SIGSTOP (Pause), restart it at a new
// address (RestartElsewhere), and take the sentry down (SentryDown): gossip
// and calls both see the faults, since nodes reach the network only
// through Config.Transport. That is how cloister's own partition tests are
// written, and how an application tests what it does without quorum.
package cloistertest
