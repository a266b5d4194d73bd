package cloister

import (
	"fmt"
	"strconv"
)

// ViewID identifies a view: a 64-bit digest of its member IDs. Its one
// textual form, in logs, the CLI, the agent's events and JSON
// (/cluster, /whois), is 16 lower-case hex digits, e.g.
// "0e3f5a7c9b1d2f40": a JSON string, not a number, because numbers above
// 2^53 lose digits in JavaScript and jq. fmt's %x, %X and %d print the
// number itself; %s and %v the 16 hex digits.
type ViewID uint64

// String returns the view ID as 16 lower-case hex digits.
func (id ViewID) String() string {
	var b [16]byte
	return string(id.appendHex(b[:0]))
}

func (id ViewID) appendHex(b []byte) []byte {
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[(id>>uint(shift))&0xf])
	}
	return b
}

// MarshalText returns the 16 hex digits (a JSON string).
func (id ViewID) MarshalText() ([]byte, error) { return id.appendHex(make([]byte, 0, 16)), nil }

// UnmarshalText reads 1 to 16 hex digits.
func (id *ViewID) UnmarshalText(b []byte) error {
	if len(b) == 0 || len(b) > 16 {
		return fmt.Errorf("cloister: view ID %q: want 16 hex digits", b)
	}
	v, err := strconv.ParseUint(string(b), 16, 64)
	if err != nil {
		return fmt.Errorf("cloister: view ID %q: want 16 hex digits", b)
	}
	*id = ViewID(v)
	return nil
}

// Format prints the 16 hex digits for %s, %v and %q, and the number for
// the integer verbs (%x, %016x, %d), so code written for a uint64 view ID
// prints the same.
func (id ViewID) Format(f fmt.State, verb rune) {
	switch verb {
	case 's', 'v', 'q':
		fmt.Fprintf(f, fmt.FormatString(f, verb), id.String())
	default:
		fmt.Fprintf(f, fmt.FormatString(f, verb), uint64(id))
	}
}
