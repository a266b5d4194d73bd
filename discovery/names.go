package discovery

import (
	"strings"
)

// validName reports whether s is a host name this package accepts: dot
// separated labels of 1 to 63 letters, digits, hyphens (not first nor
// last) or underscores, at most 253 characters, with an optional trailing dot (absolute name). The
// last label may not be all digits, so that a mistyped IP address such as
// "10.0.0.256" is rejected instead of looked up.
func validName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

// candidates lists the fully qualified names a stub resolver tries for
// name, in order. An absolute name (trailing dot) is tried alone. A name
// with at least ndots dots is tried as is first, then with each suffix;
// one with fewer, with each suffix first, then as is. Names too long for
// DNS are left out.
func candidates(name string, search []string, ndots int) []string {
	if strings.HasSuffix(name, ".") {
		return []string{name}
	}
	abs := name + "."
	var out []string
	add := func(fq string) {
		if len(fq) <= 254 && !containsFold(out, fq) {
			out = append(out, fq)
		}
	}
	asIs := strings.Count(name, ".") >= ndots
	if asIs {
		add(abs)
	}
	for _, s := range search {
		add(abs + s)
	}
	if !asIs {
		add(abs)
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
