package discovery

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout bounds each DNS query (one question to one server, the TCP
// retry included) unless WithTimeout says otherwise.
const DefaultTimeout = 2 * time.Second

// DefaultResolvConf is where the resolver configuration is read from unless
// WithServers or WithResolvConf say otherwise.
const DefaultResolvConf = "/etc/resolv.conf"

// DNSOption configures how a provider resolves names. Invalid options make
// the constructor fail with ErrInvalidSpec.
type DNSOption func(*options)

// options is the resolver configuration the DNSOptions build.
type options struct {
	servers    []string // host:port; when set, no resolv.conf is read
	search     []string // fully qualified suffixes
	searchSet  bool
	ndots      int
	ndotsSet   bool
	timeout    time.Duration
	resolvConf string
	// hostsFile is consulted before DNS; "" for none.
	hostsFile    string
	hostsFileSet bool
	err          error // the first invalid option
}

func (o *options) fail(format string, args ...any) {
	if o.err == nil {
		o.err = fmt.Errorf(format, args...)
	}
}

// WithServers sets the DNS servers, tried in order, instead of those of
// resolv.conf, which is then not read at all: the search list is empty and
// ndots is 1 unless WithSearch and WithNdots say otherwise. Each address is
// an IP address with an optional port (default 53): "10.0.0.2",
// "127.0.0.1:5353", "[::1]:53".
func WithServers(addrs ...string) DNSOption {
	return func(o *options) {
		if len(addrs) == 0 {
			o.fail("WithServers: no server")
			return
		}
		o.servers = nil
		for _, s := range addrs {
			ap, err := serverAddr(s)
			if err != nil {
				o.fail("WithServers: %q: %w", s, err)
				return
			}
			o.servers = append(o.servers, ap)
		}
	}
}

// serverAddr validates a server address and returns it as host:port.
func serverAddr(s string) (string, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return net.JoinHostPort(a.String(), "53"), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("not an IP address with an optional port")
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return "", fmt.Errorf("%q is not an IP address", host)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return "", fmt.Errorf("bad port %q", port)
	}
	return net.JoinHostPort(a.String(), port), nil
}

// WithSearch sets the search list, replacing resolv.conf's. With no domain
// it disables the search list.
func WithSearch(domains ...string) DNSOption {
	return func(o *options) {
		o.search, o.searchSet = nil, true
		for _, d := range domains {
			if !validName(d) {
				o.fail("WithSearch: %q is not a domain name", d)
				return
			}
			o.search = append(o.search, strings.TrimSuffix(d, ".")+".")
		}
	}
}

// WithNdots sets the number of dots (0 to 15) below which a relative name
// is first tried with the search list's suffixes, replacing resolv.conf's.
func WithNdots(n int) DNSOption {
	return func(o *options) {
		if n < 0 || n > 15 {
			o.fail("WithNdots: %d is not between 0 and 15", n)
			return
		}
		o.ndots, o.ndotsSet = n, true
	}
}

// WithTimeout bounds each query, DefaultTimeout by default. The context
// given to Discover bounds the whole lookup.
func WithTimeout(d time.Duration) DNSOption {
	return func(o *options) {
		if d <= 0 {
			o.fail("WithTimeout: %v is not positive", d)
			return
		}
		o.timeout = d
	}
}

// WithResolvConf reads the resolver configuration from path instead of
// DefaultResolvConf. It is read at every Discover, so that changes are
// seen; a missing or unusable file is an ErrLookup then.
func WithResolvConf(path string) DNSOption {
	return func(o *options) {
		if path == "" {
			o.fail("WithResolvConf: empty path")
			return
		}
		o.resolvConf = path
	}
}

// buildOptions applies opts over the defaults.
func buildOptions(opts []DNSOption) (options, error) {
	o := options{ndots: 1, timeout: DefaultTimeout, resolvConf: DefaultResolvConf}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.err != nil {
		return options{}, &fault{kind: ErrInvalidSpec, cause: o.err}
	}
	if !o.hostsFileSet {
		o.hostsFile = DefaultHostsFile
	}
	return o, nil
}
