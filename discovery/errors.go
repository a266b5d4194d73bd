package discovery

import (
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// Sentinel errors. Every error the constructors, Parse and the providers of
// this package return wraps exactly one of them (a Func returns whatever
// its function does); test with errors.Is.
var (
	// ErrNoAddresses: the lookup was answered cleanly but gave no usable
	// address (NOERROR with no records, only aliases, only SRV targets of
	// "."). The name exists; nobody is behind it yet.
	ErrNoAddresses = errors.New("discovery: no addresses")
	// ErrLookup: no answer could be had: NXDOMAIN, SERVFAIL, REFUSED, a
	// timeout, a network failure, an unusable resolver configuration. The
	// cause is wrapped too (a context error, a net error...).
	ErrLookup = errors.New("discovery: lookup failed")
	// ErrMalformed: a server answered garbage: an unparsable reply, a reply
	// with the wrong ID or for another question, a record of the wrong type,
	// an invalid address.
	ErrMalformed = errors.New("discovery: malformed response")
	// ErrInvalidSpec: a constructor, option or Parse got unusable input.
	ErrInvalidSpec = errors.New("discovery: invalid spec")
)

// Error is the error the providers and constructors return. Err wraps one
// of the sentinels and, when there is one, the cause.
type Error struct {
	Provider string // "static", "dns" or "srv"
	Name     string // the name, entry or spec concerned; may be empty
	Err      error  // wraps a sentinel and the cause
}

// Error reads "discovery: <provider> <name>: <what went wrong>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("discovery: ")
	b.WriteString(e.Provider)
	if e.Name != "" {
		fmt.Fprintf(&b, " %q", e.Name)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "discovery: "))
	}
	return b.String()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// fault pairs a sentinel with its cause, so that errors.Is finds both.
type fault struct {
	kind  error
	cause error
}

func (f *fault) Error() string {
	msg := strings.TrimPrefix(f.kind.Error(), "discovery: ")
	if f.cause != nil {
		msg += ": " + f.cause.Error()
	}
	return msg
}

func (f *fault) Unwrap() []error {
	if f.cause == nil {
		return []error{f.kind}
	}
	return []error{f.kind, f.cause}
}

// newFault is a fault of kind whose cause is formatted like fmt.Errorf.
func newFault(kind error, format string, args ...any) error {
	return &fault{kind: kind, cause: fmt.Errorf(format, args...)}
}

// rcodeError is a reply's response code other than NOERROR.
type rcodeError int

func (e rcodeError) Error() string {
	if s, ok := dns.RcodeToString[int(e)]; ok {
		return "server answered " + s
	}
	return fmt.Sprintf("server answered RCODE%d", int(e))
}

// errNXDomain is the cause of every NXDOMAIN failure.
const errNXDomain = rcodeError(dns.RcodeNameError)

// severity orders failures so that the most telling one is reported when
// several queries fail: a broken answer, then a failed lookup, then a clean
// empty answer, then a name that does not exist (the common, expected
// failure while walking a search list).
func severity(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrMalformed):
		return 4
	case errors.Is(err, errNXDomain):
		return 1
	case errors.Is(err, ErrNoAddresses):
		return 2
	default:
		return 3
	}
}

// worse returns whichever of a and b is more severe, a on a tie.
func worse(a, b error) error {
	if severity(b) > severity(a) {
		return b
	}
	return a
}

// annotate prefixes the cause of a fault with where it happened. Other
// errors, nil included, are returned as they are.
func annotate(err error, where string) error {
	var f *fault
	if !errors.As(err, &f) {
		return err
	}
	if f.cause == nil {
		return &fault{kind: f.kind, cause: errors.New(where)}
	}
	return &fault{kind: f.kind, cause: fmt.Errorf("%s: %w", where, f.cause)}
}
