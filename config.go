package cloister

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/cloister-go/cloister/discovery"
	"github.com/cloister-go/cloister/internal/membership"
	"github.com/cloister-go/cloister/transport"
)

// DefaultPort is the port of DefaultConfig: gossip (UDP and TCP) and calls.
const DefaultPort = 4747

// maxWeight is the largest Weight a node may declare.
const maxWeight = 1000

// Config configures a node. It is a plain value: Start copies it and never
// writes to it. Begin from DefaultConfig or LocalConfig and change fields.
type Config struct {
	// App names the application. Only nodes with the same App form a
	// cluster (it is memberlist's label), and node names are App@host:port.
	// Letters, digits, '-', '_' and '.'; at most 64 bytes. Default "cloister".
	App string

	// Sentry finds peers: a static list, a DNS name (all A/AAAA records),
	// DNS SRV, or any discovery.Provider. It is polled every
	// DiscoveryInterval, and each poll joins through the first discovered
	// address that is not a live member and answers, which admits new
	// instances and heals partitions.
	// Nil means a single-node cluster, Ready at once.
	Sentry discovery.Provider

	// Consensus is how many live members (this node included) must agree
	// before the cluster starts: the start gate. After the first Ready,
	// Quorum decides which side of a split may act. Default 1. Set it to
	// a majority of the replicas you run: a smaller gate lets the two
	// sides of a split that exists from the very start both start.
	Consensus int

	// Quorum is the policy that decides, after the start, whether this
	// node's side may act (state Ready) or not (NoQuorum). Default
	// keep-majority of the last agreed view.
	Quorum Quorum

	// ReconnectTimeout is how long a node keeps trying to rejoin the
	// addresses of members that failed (not those that left), with capped
	// backoff, independently of the sentry: that is what merges the two
	// sides of a healed partition when DNS is down. Default 10 minutes;
	// negative turns it off.
	ReconnectTimeout time.Duration

	// Secret authenticates and encrypts gossip; nodes with another secret
	// never join. At least MinSecretLen bytes. Required when Sentry is set,
	// unless Insecure is true. With no Sentry and no Secret, a random secret
	// is drawn: a cluster of one that nobody can join.
	Secret Secret

	// AcceptSecrets are further secrets accepted from peers, for gossip
	// and calls; Secret is the one this node sends with and proves. They
	// let a cluster change its secret without downtime (docs/security.md):
	// add the new secret here on every node, then make it the Secret and
	// the old one accepted here on every node, then drop the old one. Each
	// is at least MinSecretLen bytes; they need a Secret.
	AcceptSecrets []Secret

	// Insecure allows a Sentry without a Secret: gossip in clear text,
	// joinable by anyone who can reach the port. Logged loudly at start.
	Insecure bool

	// Bind is "ip:port" or ":port" (every interface) for the single port,
	// UDP and TCP. Port 0 picks a free port. Default ":4747".
	Bind string

	// Advertise is the "ip" or "ip:port" peers use to reach this node.
	// Default: found automatically (see the package documentation).
	Advertise string

	// Detection is the failure-detection timing. Default SteadyDetection().
	Detection Detection

	// DiscoveryInterval is how often the sentry is polled (±20% jitter).
	// Default 1s.
	DiscoveryInterval time.Duration

	// DiscoveryMaxBackoff caps the wait between polls after failures, so
	// that a sentry that recovers is polled again promptly. Default 5s.
	DiscoveryMaxBackoff time.Duration

	// Roles this node declares (for role rings and filters). At most 16,
	// each at most 32 bytes.
	Roles []string

	// Weight is this node's capacity relative to others, in (0, 1000].
	// Default 1.
	Weight float64

	// Rings declares named rings besides DefaultRing (every member):
	// rings of the members with one role, or with bounded load. Every
	// node of the cluster must declare the same rings.
	Rings []RingConfig

	// Hidden makes this node a hidden member, like Erlang's -hidden: it
	// joins the gossip, sees the view, receives events and can call
	// members, but it is never in the view, the rings, consensus or
	// quorum, and never leader. Its own Snapshot shows the cluster's view
	// (without itself) and is Ready when every member agrees on it; its
	// Term is theirs. For tools (cloister members, cloister top) and
	// observers. Every member must run a build that knows hidden members
	// (older builds count it as an ordinary member).
	Hidden bool

	// Services are cluster capabilities the node runs (see Service):
	// started in order, before the node joins.
	Services []Service

	// Listeners hear every state change (and, if they implement
	// EventListener, every event), each in order on its own goroutine.
	Listeners []Listener

	// ListenerQueue bounds the events waiting for one listener. When it is
	// full new events for that listener are dropped and counted, and the
	// listener next receives an EventsDropped event. Default 1024.
	ListenerQueue int

	// Logger receives the node's logs. Default: discard.
	Logger *slog.Logger

	// MaxMessageSize bounds call and cast bodies, in bytes; larger ones
	// fail with ErrTooLarge. Default 4 MiB, at most 1 GiB.
	MaxMessageSize int

	// CallTLS, when set, secures node-to-node calls with these certificates
	// (set ClientAuth for mutual TLS) instead of the key derived from
	// Secret. Gossip stays keyed by Secret.
	CallTLS *tls.Config

	// Transport replaces the node's network (Bind is then ignored). The
	// test harness uses it to inject faults. The node closes it on Stop.
	Transport transport.Transport

	// Metrics, when set, publishes the node's metrics (cloister_*,
	// docs/metrics.md) until it stops, and Handler serves them at
	// /metrics. metrics.Prometheus(reg) (package
	// github.com/cloister-go/cloister/metrics) makes one for a Prometheus
	// registry: /metrics then serves the rest of the registry too when it
	// is a prometheus.Gatherer. Give each node of one process its own
	// registry or a prometheus.WrapRegistererWith of a shared one. It also
	// turns the dashboard on. Metrics live in that package so that a
	// program without them does not link Prometheus's client.
	Metrics MetricsExporter

	// Dashboard makes Handler serve a live, read-only dashboard at
	// /dashboard/ (members, view, term, quorum, ring, call rates, a
	// timeline), also without Metrics.
	Dashboard bool

	// envBind is Bind as ConfigFromEnv set it: while Bind still holds it,
	// errors about it name CLOISTER_BIND.
	envBind string

	// advert, in this package's tests, makes the node write adverts in a
	// later format, as a newer build would.
	advert *advertFormat
}

// format is the advert format the node writes.
func (c Config) format() advertFormat {
	if c.advert != nil {
		return *c.advert
	}
	return currentFormat
}

// DefaultConfig is for hosts and containers: port 4747 on every interface,
// Steady failure detection (see SteadyDetection: LAN's timings, five times
// faster on a silent host, declared live members failed on a crowded
// one), a 1 s discovery poll.
func DefaultConfig() Config {
	return Config{
		App:                 "cloister",
		Consensus:           1,
		Bind:                fmt.Sprintf(":%d", DefaultPort),
		Detection:           SteadyDetection(),
		DiscoveryInterval:   time.Second,
		DiscoveryMaxBackoff: 5 * time.Second,
		ReconnectTimeout:    10 * time.Minute,
		Weight:              1,
		ListenerQueue:       1024,
	}
}

// LocalConfig is for several nodes on one machine: loopback, a free port,
// fast failure detection and a 200 ms discovery poll. It still needs a
// Secret (or Insecure) once a Sentry is set.
func LocalConfig() Config {
	c := DefaultConfig()
	c.Bind = "127.0.0.1:0"
	c.Detection = LocalDetection()
	c.DiscoveryInterval = 200 * time.Millisecond
	c.DiscoveryMaxBackoff = 5 * time.Second
	return c
}

// Validate reports the first unusable field as a *ConfigError (which
// matches ErrInvalidConfig). It does not modify c.
func (c Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if c.App == "" || len(c.App) > 64 || strings.IndexFunc(c.App, notNameRune) >= 0 {
		return bad("App", "must be 1 to 64 letters, digits, '-', '_' or '.', got %q", c.App)
	}
	if c.Consensus < 1 {
		return bad("Consensus", "must be at least 1, got %d", c.Consensus)
	}
	if err := c.Quorum.validate(); err != nil {
		return err
	}
	if len(c.Secret) > 0 && len(c.Secret) < MinSecretLen {
		return bad("Secret", "must be at least %d bytes, got %d", MinSecretLen, len(c.Secret))
	}
	if len(c.AcceptSecrets) > 0 && len(c.Secret) == 0 {
		return bad("AcceptSecrets", "need a Secret to send with")
	}
	for i, a := range c.AcceptSecrets {
		if len(a) < MinSecretLen {
			return bad("AcceptSecrets", "secret %d must be at least %d bytes, got %d", i, MinSecretLen, len(a))
		}
	}
	if c.Sentry != nil && len(c.Secret) == 0 && !c.Insecure {
		return bad("Secret", "required with a Sentry; set Insecure to run without one")
	}
	if c.Transport == nil {
		if _, err := transport.ParseBind(c.Bind); err != nil {
			return &ConfigError{Field: "Bind", Reason: fmt.Sprintf("%q is not ip:port or :port", c.Bind), Err: err}
		}
	}
	if c.Advertise != "" {
		if _, err := parseAdvertise(c.Advertise); err != nil {
			return &ConfigError{Field: "Advertise", Reason: fmt.Sprintf("%q is not an ip or ip:port", c.Advertise), Err: err}
		}
	}
	if err := membershipProfile(c.Detection).Validate(); err != nil {
		return &ConfigError{Field: "Detection", Reason: "unusable timing", Err: err}
	}
	if c.DiscoveryInterval <= 0 {
		return bad("DiscoveryInterval", "must be positive, got %v", c.DiscoveryInterval)
	}
	if c.DiscoveryMaxBackoff < c.DiscoveryInterval {
		return bad("DiscoveryMaxBackoff", "must be at least DiscoveryInterval (%v), got %v", c.DiscoveryInterval, c.DiscoveryMaxBackoff)
	}
	if len(c.Roles) > 16 {
		return bad("Roles", "at most 16 roles, got %d", len(c.Roles))
	}
	for _, r := range c.Roles {
		if r == "" || len(r) > 32 || strings.IndexFunc(r, notNameRune) >= 0 {
			return bad("Roles", "role %q must be 1 to 32 letters, digits, '-', '_' or '.'", r)
		}
	}
	if n := metaSizeLimit(c.Roles, c.Weight); n > membership.MaxMetaSize {
		return bad("Roles", "the roles take %d bytes in the advert, limit %d: use fewer or shorter roles", n, membership.MaxMetaSize)
	}
	if c.Weight <= 0 || c.Weight > maxWeight || math.IsNaN(c.Weight) {
		return bad("Weight", "must be a number in (0, %v], got %v", maxWeight, c.Weight)
	}
	seen := map[string]bool{DefaultRing: true}
	for _, rc := range c.Rings {
		if rc.Name == "" || len(rc.Name) > 64 || strings.IndexFunc(rc.Name, notNameRune) >= 0 {
			return bad("Rings", "ring name %q must be 1 to 64 letters, digits, '-', '_' or '.'", rc.Name)
		}
		if seen[rc.Name] {
			return bad("Rings", "ring %q declared twice (or named like the default ring)", rc.Name)
		}
		seen[rc.Name] = true
		if rc.BoundedLoad < 0 || rc.BoundedLoad > 100 || math.IsNaN(rc.BoundedLoad) {
			return bad("Rings", "ring %q: BoundedLoad must be in [0, 100], got %v", rc.Name, rc.BoundedLoad)
		}
	}
	if c.MaxMessageSize < 0 || c.MaxMessageSize > 1<<30 {
		return bad("MaxMessageSize", "must be in [0, 1 GiB], got %d", c.MaxMessageSize)
	}
	if c.ListenerQueue < 1 {
		return bad("ListenerQueue", "must be at least 1, got %d", c.ListenerQueue)
	}
	if err := validateServices(c.Services); err != nil {
		return err
	}
	for i, l := range c.Listeners {
		if l == nil {
			return bad("Listeners", "listener %d is nil", i)
		}
	}
	return nil
}

func notNameRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
}

// parseAdvertise accepts "ip" or "ip:port" (port 0 when absent).
func parseAdvertise(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(a, 0), nil
}
