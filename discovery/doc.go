// Package discovery finds the addresses of candidate peers: the "sentry"
// of a cloister node. A Provider is polled; it only ever proposes
// addresses, it never removes a member.
//
// Providers:
//
//   - Static: a fixed list of addresses or host names.
//   - DNS: every A and AAAA record of one name, on one port: a docker
//     compose service name or network alias, a Kubernetes headless Service.
//   - SRV: the SRV records of a name, their targets resolved to A and AAAA,
//     each on its record's port.
//   - Func: any function.
//
// # The CLOISTER_SENTRY syntax
//
// Parse reads the value of CLOISTER_SENTRY. Spaces around the value and
// around list entries are ignored. The first rule that matches wins:
//
//	""                     no sentry: Parse returns (nil, nil)
//	"srv:" name            SRV records of name      srv:cloister.app.svc
//	entry "," entry ...    Static list              10.0.0.1,10.0.0.2:7000,app-2
//	"_" ...                SRV records              _cloister._tcp.app.svc
//	entry with IP or port  Static, one entry        10.0.0.1  [fd00::1]:7000  app:7000
//	name                   DNS, A and AAAA          app
//
// An entry is "ip", "ip:port", "[ipv6]:port", "host" or "host:port"; a host
// is resolved at every Discover. An entry or name without a port uses the
// default port given to Parse (the node's own port). A name ending in a dot
// is absolute; otherwise it is walked through the search list as a stub
// resolver does (see below). Host names are letters, digits, '-' and '_' in
// dot-separated labels; a last label of digits only is refused, so that a
// mistyped IP address is an error, not a lookup.
//
// # Resolution
//
// Names are resolved by this package's own stub resolver, built on
// github.com/miekg/dns, not by net.Resolver: the servers, search list and
// ndots come from /etc/resolv.conf, read at every Discover (an unreadable
// file is an ErrLookup then), unless WithServers, WithSearch, WithNdots or
// WithResolvConf say otherwise. Each query goes over UDP, and again over
// TCP when the reply is truncated, to each server in turn until one gives
// an answer (NOERROR or NXDOMAIN); SERVFAIL, REFUSED, silence or garbage
// move on to the next server. Each query is bounded by WithTimeout (2s by
// default) and everything by the context given to Discover. A and AAAA are
// queried concurrently.
//
// # Results and errors
//
// Addresses are returned sorted and without duplicates. A partial answer
// is a success: when A fails but AAAA gives addresses (or the reverse),
// when some SRV targets or some Static host names fail but others resolve,
// the addresses found are returned with a nil error. A failure returns no
// addresses and an *Error wrapping one sentinel: ErrNoAddresses, ErrLookup,
// ErrMalformed or ErrInvalidSpec. When several queries fail, the most
// telling failure is reported: ErrMalformed, then ErrLookup, then
// ErrNoAddresses, then NXDOMAIN (an ErrLookup too).
//
// A UDP reply that cannot be parsed, or carries another ID or another
// question, is ignored as it may be stale or forged, and the client keeps
// waiting for the real one; if none comes before the query's deadline the
// result is ErrMalformed naming the bad reply (not ErrLookup: the server
// did answer). Over TCP a bad reply is an ErrMalformed at once. A reply
// that matches the question but holds a record of another type (aliases
// and signatures aside) or an unusable address (unspecified, multicast,
// broadcast) is an ErrMalformed as a whole.
package discovery
