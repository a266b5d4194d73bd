package cloister

import (
	"errors"
	"fmt"
)

// Sentinel errors. Test for them with errors.Is.
var (
	// ErrInvalidConfig: a Config field or environment variable is unusable.
	// The error is a *ConfigError naming the field.
	ErrInvalidConfig = errors.New("cloister: invalid config")
	// ErrNotReady: the node has not reached Ready (Start's deadline passed,
	// or a query that needs agreement was made too early).
	ErrNotReady = errors.New("cloister: not ready")
	// ErrStopped: the node is stopping or stopped.
	ErrStopped = errors.New("cloister: node stopped")
	// ErrNoQuorum: this node's side of a split has no quorum (state
	// NoQuorum): it owns no keys. Errors that match it match ErrNotReady
	// too.
	ErrNoQuorum = errors.New("cloister: no quorum")
	// ErrDiscovery: the sentry could not provide peers. The cause is
	// wrapped (see package discovery for its typed errors).
	ErrDiscovery = errors.New("cloister: discovery failed")
)

// ConfigError is a problem with one Config field or environment variable.
type ConfigError struct {
	Field  string // the Config field, or the environment variable
	Reason string // what is wrong, never containing a secret's value
	Err    error  // an underlying cause, if any
}

func (e *ConfigError) Error() string {
	msg := fmt.Sprintf("cloister: invalid config: %s: %s", e.Field, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns ErrInvalidConfig and the cause.
func (e *ConfigError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidConfig, e.Err}
	}
	return []error{ErrInvalidConfig}
}

// AssemblyError is returned by Start and WaitReady when ctx ends before the
// node is Ready. It says how far assembly got and wraps both ErrNotReady and
// the context's error.
type AssemblyError struct {
	State     State // the state the node was in
	Alive     int   // members alive in its view, itself included
	Consensus int   // members required
	Agreed    int   // members (itself included) that advertise its view
	Cause     error // ctx.Err(), or ErrStopped
}

func (e *AssemblyError) Error() string {
	return fmt.Sprintf("cloister: not ready after waiting: %d of %d nodes alive, %d agreeing on the view (state %s): %v",
		e.Alive, e.Consensus, e.Agreed, e.State, e.Cause)
}

// Unwrap returns ErrNotReady and the cause.
func (e *AssemblyError) Unwrap() []error { return []error{ErrNotReady, e.Cause} }

// DiscoveryError is one failed poll of the sentry.
type DiscoveryError struct {
	Err error // the provider's error
}

func (e *DiscoveryError) Error() string { return "cloister: discovery failed: " + e.Err.Error() }

// Unwrap returns ErrDiscovery and the provider's error.
func (e *DiscoveryError) Unwrap() []error { return []error{ErrDiscovery, e.Err} }
