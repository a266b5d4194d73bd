package discovery

import (
	"bufio"
	"bytes"
	"io"
	"net/netip"
	"os"
	"strings"
)

// DefaultHostsFile is the hosts file DNS providers consult unless
// WithHostsFile says otherwise.
const DefaultHostsFile = "/etc/hosts"

// maxHostsFile bounds how much of a hosts file is read.
const maxHostsFile = 1 << 20

// WithHostsFile makes DNS providers consult the hosts file at path instead
// of DefaultHostsFile; "" consults none. The file is read at every
// Discover, before any DNS query, as the system resolver does ("files
// dns"): a name it lists (case-insensitively, with or without a trailing
// dot; search domains are not applied) resolves to every address it lists
// for it, without DNS. A missing or unreadable file is skipped.
func WithHostsFile(path string) DNSOption {
	return func(o *options) { o.hostsFile, o.hostsFileSet = path, true }
}

// lookupHosts returns the addresses the hosts file at path lists for
// name, or nil.
func lookupHosts(path, name string) []netip.Addr {
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	name = strings.TrimSuffix(name, ".")
	var out []netip.Addr
	sc := bufio.NewScanner(&limitedReader{f: f, left: maxHostsFile})
	for sc.Scan() {
		line := sc.Bytes()
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(string(line))
		if len(fields) < 2 {
			continue
		}
		addr, err := netip.ParseAddr(fields[0])
		if err != nil {
			continue
		}
		for _, h := range fields[1:] {
			if strings.EqualFold(strings.TrimSuffix(h, "."), name) {
				out = append(out, addr.WithZone(""))
				break
			}
		}
	}
	return out
}

// limitedReader reads at most left bytes of f.
type limitedReader struct {
	f    *os.File
	left int
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	if len(p) > l.left {
		p = p[:l.left]
	}
	n, err := l.f.Read(p)
	l.left -= n
	return n, err
}
