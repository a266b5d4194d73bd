// Package e2e holds end-to-end tests that run the real `cloister agent`
// binary on several hosts, each a Linux network namespace joined to one
// bridge, with a DNS server in the test process answering the service name
// the way docker compose or a Kubernetes headless Service does.
//
// The tests need root and the ip command (iproute2), and the partition
// test the nft command (nftables), which cuts traffic between hosts inside
// their namespaces; elsewhere, and with -short, they skip. They only use addresses in 198.18.0.0/15 (RFC 2544,
// benchmarking), give every bridge, veth and namespace a name unique to the
// run, and remove all of them, and the agents, when they end.
//
//	sudo go test -race ./internal/e2e/
package e2e
