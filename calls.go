package cloister

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cloister-go/cloister/rpc"
)

// Errors of calls between nodes (the call layer's own values, so errors.Is
// works with either name).
var (
	// ErrNodeDown: the member is down, left, or its connection broke while
	// the call was pending. Pending calls fail with it at once.
	ErrNodeDown = rpc.ErrNodeDown
	// ErrNotSent: the request never left this node (the member could not
	// be reached, or the connection failed first): safe to retry, on this
	// member or another. It comes with ErrNodeDown.
	ErrNotSent = rpc.ErrNotSent
	// ErrConnLost: the request left and the connection broke before the
	// answer: the handler may have run. It comes with ErrNodeDown.
	ErrConnLost = rpc.ErrConnLost
	// ErrTooLarge: a message exceeds Config.MaxMessageSize.
	ErrTooLarge = rpc.ErrTooLarge
	// ErrOverloaded: too many calls in flight (here or at the callee).
	ErrOverloaded = rpc.ErrOverloaded
	// ErrNoHandler: the callee has no handler of that name.
	ErrNoHandler = rpc.ErrNoHandler
	// ErrAuth: the connection could not be authenticated (another secret).
	ErrAuth = rpc.ErrAuth
	// ErrInvalidName: a handler name is empty or longer than 255 bytes.
	ErrInvalidName = errors.New("cloister: invalid handler name")
)

// RemoteError is a handler's error as the caller receives it: the alias of
// rpc.RemoteError, a struct of Node (the ID of the member whose handler
// failed) and Message (the handler's error text). Error returns "rpc:
// remote error from NODE: MESSAGE". Match it with errors.As(err,
// new(*cloister.RemoteError)).
type RemoteError = rpc.RemoteError

// RegisterError makes an application error cross the wire under name: a
// handler whose error matches err (errors.Is) is reported to its caller
// with the name, and there errors.Is(callErr, err) holds. Register the
// same errors under the same names on every node (in an init function, as
// with encoding/gob); the leader and registry services register their
// "stale term" and "not leader" errors this way.
func RegisterError(name string, err error) error { return rpc.RegisterError(name, err) }

// Codec encodes typed messages (CallTyped, HandleTyped); rpc.JSON is the
// default. It is the alias of rpc.Codec; Codec's methods are
// Marshal(v any) ([]byte, error) and Unmarshal(data []byte, v any) error.
type Codec = rpc.Codec

// Handler serves calls and casts to one name on this node. Its context
// ends at the caller's deadline, when the caller gives up, or when the
// connection breaks. A returned error reaches the caller as a
// *RemoteError; for a cast, the reply and the error are discarded.
// Handlers run concurrently.
type Handler func(ctx context.Context, from Member, body []byte) ([]byte, error)

// Reply is one member's answer to a Multicall: a body, or an error (the
// "bad nodes" of Erlang's rpc:multicall).
type Reply struct {
	Member Member
	Body   []byte
	Err    error
}

// Handle registers h under name, replacing any handler of that name; a nil
// h removes it. Handlers may be registered before or after Ready.
func (n *Node) Handle(name string, h Handler) error {
	if len(name) == 0 || len(name) > 255 {
		return fmt.Errorf("%w: %d bytes, want 1 to 255", ErrInvalidName, len(name))
	}
	if h == nil {
		n.calls.Handle(name, nil)
		return nil
	}
	n.calls.Handle(name, n.tel.Handler(name, func(ctx context.Context, req rpc.Request) ([]byte, error) {
		n.served.Add(1)
		return h(ctx, n.memberByID(req.From), req.Body)
	}))
	return nil
}

// Call sends req to the handler name on member to and waits for its
// reply, within ctx. The deadline and cancellation reach the handler.
func (n *Node) Call(ctx context.Context, to Member, name string, req []byte) ([]byte, error) {
	if err := n.callable(name); err != nil {
		return nil, err
	}
	start := n.tel.Start()
	reply, err := n.calls.Call(ctx, peerOf(to), name, req)
	n.tel.CallDone(name, start, err)
	return reply, err
}

// Cast sends msg to the handler name on member to without waiting for it
// to run. A nil error means the message was queued on the connection.
// ctx bounds the wait for a connection to the member (a member that does
// not answer would otherwise hold Cast for the handshake timeout).
func (n *Node) Cast(ctx context.Context, to Member, name string, msg []byte) error {
	if err := n.callable(name); err != nil {
		return err
	}
	err := n.calls.Cast(ctx, peerOf(to), name, msg)
	n.tel.CastDone(name, err)
	return err
}

// multicastConcurrency bounds the casts of one Multicast in flight.
const multicastConcurrency = 32

// Multicall calls name on the given members concurrently, or, with none
// given, on every other member of the view, and returns one Reply per
// member once all have answered or failed within ctx.
func (n *Node) Multicall(ctx context.Context, name string, req []byte, to ...Member) []Reply {
	if len(to) == 0 {
		to = n.others()
	}
	replies := make([]Reply, len(to))
	if err := n.callable(name); err != nil {
		for i, m := range to {
			replies[i] = Reply{Member: m, Err: err}
		}
		return replies
	}
	peers := make([]rpc.Peer, len(to))
	for i, m := range to {
		peers[i] = peerOf(m)
	}
	for i, r := range n.calls.Multicall(ctx, peers, name, req) {
		replies[i] = Reply{Member: to[i], Body: r.Body, Err: r.Err}
		n.tel.Counted(name, r.Err)
	}
	return replies
}

// Multicast casts msg to name on the given members, or on every other
// member of the view, concurrently (at most 32 at once) and within ctx,
// so a member that does not answer delays no other. It returns nil when
// every cast was queued, else one error per member it could not reach,
// joined (errors.Join), each starting with the member's name.
func (n *Node) Multicast(ctx context.Context, name string, msg []byte, to ...Member) error {
	if len(to) == 0 {
		to = n.others()
	}
	errs := make([]error, len(to))
	sem := make(chan struct{}, multicastConcurrency)
	var wg sync.WaitGroup
	for i, m := range to {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := n.Cast(ctx, m, name, msg); err != nil {
				errs[i] = fmt.Errorf("%s: %w", m.Name, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// CallOwner calls name on the member that owns key on the named ring
// (DefaultRing for ""): ErrNotReady when the ring cannot answer.
func (n *Node) CallOwner(ctx context.Context, ringName, key, name string, req []byte) ([]byte, error) {
	if ringName == "" {
		ringName = DefaultRing
	}
	owner, err := n.Ring(ringName).Whois(key)
	if err != nil {
		return nil, err
	}
	return n.Call(ctx, owner, name, req)
}

// CallTyped encodes req with codec (JSON when nil), calls name on member
// to, and decodes the reply.
func CallTyped[Req, Resp any](ctx context.Context, n *Node, to Member, name string, req Req, codec Codec) (Resp, error) {
	if err := n.callable(name); err != nil {
		var zero Resp
		return zero, err
	}
	start := n.tel.Start()
	resp, err := rpc.CallTyped[Req, Resp](ctx, n.calls, peerOf(to), name, req, codec)
	n.tel.CallDone(name, start, err)
	return resp, err
}

// HandleTyped registers a handler whose request and reply are encoded
// with codec (JSON when nil).
func HandleTyped[Req, Resp any](n *Node, name string, codec Codec, h func(ctx context.Context, from Member, req Req) (Resp, error)) error {
	if codec == nil {
		codec = rpc.JSON
	}
	return n.Handle(name, func(ctx context.Context, from Member, body []byte) ([]byte, error) {
		var req Req
		if err := codec.Unmarshal(body, &req); err != nil {
			return nil, fmt.Errorf("decode request: %w", err)
		}
		resp, err := h(ctx, from, req)
		if err != nil {
			return nil, err
		}
		return codec.Marshal(resp)
	})
}

func (n *Node) callable(name string) error {
	if len(name) == 0 || len(name) > 255 {
		return fmt.Errorf("%w: %d bytes, want 1 to 255", ErrInvalidName, len(name))
	}
	if s := n.State(); s == Stopping || s == Stopped {
		return ErrStopped
	}
	return nil
}

func peerOf(m Member) rpc.Peer { return rpc.Peer{ID: m.ID, Addr: m.Addr} }

// others is every member of the view but this node.
func (n *Node) others() []Member {
	var out []Member
	for _, m := range n.snap.Load().View.Members {
		if m.ID != n.self.ID {
			out = append(out, m.clone())
		}
	}
	return out
}

// memberByID finds a caller in the view; a caller not (yet) in the view is
// described from its ID alone.
func (n *Node) memberByID(id string) Member {
	for _, m := range n.snap.Load().View.Members {
		if m.ID == id {
			return m.clone()
		}
	}
	name, inc, _ := parseMemberID(id)
	return Member{ID: id, Name: name, Incarnation: inc}
}
