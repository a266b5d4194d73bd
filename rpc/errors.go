package rpc

import "errors"

// Errors returned by the call layer. Match them with errors.Is: most are
// wrapped with the peer, the handler name or the underlying cause.
var (
	// ErrNodeDown means the peer is unreachable, was reported down with
	// PeerDown, or its connection broke while the call was pending. The
	// errors below say more where it matters for a retry.
	ErrNodeDown = errors.New("rpc: node down")
	// ErrNotSent means the request never left this endpoint (the peer
	// could not be reached, or the connection failed before the request
	// was written): safe to retry, here or elsewhere. It comes with
	// ErrNodeDown.
	ErrNotSent = errors.New("rpc: request not sent")
	// ErrConnLost means the request was written and the connection broke
	// before its answer: the handler may have run. It comes with
	// ErrNodeDown.
	ErrConnLost = errors.New("rpc: connection lost during the call")
	// ErrWrongPeer means the address answered with another peer ID than the
	// one expected, typically a restarted process (a new incarnation).
	// Errors matching it also match ErrNodeDown: the expected peer is gone.
	ErrWrongPeer = errors.New("rpc: wrong peer")
	// ErrTooLarge means a message exceeds MaxMessageSize, on the sending
	// side before anything is sent or on the receiving side from the frame
	// header.
	ErrTooLarge = errors.New("rpc: message too large")
	// ErrOverloaded means a bound on in-flight calls was reached, locally
	// (calls pending on one connection) or on the remote endpoint (handlers
	// running per connection or in total).
	ErrOverloaded = errors.New("rpc: overloaded")
	// ErrNoHandler means the remote endpoint has no handler for the name.
	ErrNoHandler = errors.New("rpc: no handler")
	// ErrAuth means the connection could not be authenticated: the peer
	// holds another secret, another certificate, or uses another security
	// mode.
	ErrAuth = errors.New("rpc: authentication failed")
	// ErrClosed is returned by operations on a closed Endpoint.
	ErrClosed = errors.New("rpc: closed")
	// ErrProtocol means the peer sent bytes that are not a valid frame. The
	// connection is closed.
	ErrProtocol = errors.New("rpc: protocol error")
)

// RemoteError is the error a remote handler returned, as its caller sees it:
// match it with errors.As. Its text travels; when the handler's error
// matched one registered with RegisterError, so does its name, and
// errors.Is matches the caller's error registered under that name.
type RemoteError struct {
	Node    string // the peer ID of the endpoint whose handler failed
	Message string // the handler's error text
	Name    string // the registered error's name, or ""

	err error // the caller's error registered under Name, if any
}

// Unwrap returns the caller's error registered under Name, or nil.
func (e *RemoteError) Unwrap() error { return e.err }

// Error returns the node and the handler's message.
func (e *RemoteError) Error() string {
	return "rpc: remote error from " + e.Node + ": " + e.Message
}

// errRetired is what a call gets from a connection retired as idle, before
// its request was queued: the endpoint looks for a connection again.
var errRetired = errors.New("rpc: connection retired as idle")

// errReportedDown marks the cause of a PeerDown.
var errReportedDown = errors.New("reported down")
