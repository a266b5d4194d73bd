package cloister

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"log/slog"
)

// MinSecretLen is the shortest accepted cluster secret, in bytes.
const MinSecretLen = 16

// Secret is the cluster's shared secret. It authenticates and encrypts
// gossip; it never travels on the wire. Its printed, logged and JSON forms
// are redacted.
type Secret []byte

const redacted = "[REDACTED]"

// String returns a redacted placeholder.
func (s Secret) String() string {
	if len(s) == 0 {
		return ""
	}
	return redacted
}

// GoString returns a redacted placeholder, also for %#v.
func (s Secret) GoString() string { return s.String() }

// Format prints the redacted placeholder whatever the verb.
func (s Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// LogValue keeps the secret out of structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps the secret out of JSON and other encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// deriveKey returns a 32-byte key for one purpose ("gossip", "call"), so a
// key seen by one layer says nothing about another.
func (s Secret) deriveKey(purpose string) ([]byte, error) {
	return hkdfKey(s, "cloister/"+purpose+"/v1")
}

// hkdfKey derives a 32-byte key; a variable so that tests can make it fail
// (it does in FIPS 140-only mode).
var hkdfKey = func(secret []byte, info string) ([]byte, error) {
	return hkdf.Key(sha256.New, secret, []byte("cloister"), info, 32)
}
