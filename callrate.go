package cloister

import (
	"context"
	"encoding/binary"

	"github.com/cloister-go/cloister/rpc"
)

// CallsServedHandler is the built-in handler every node answers with the
// number of calls and casts its handlers have served since it started (a
// uvarint), for tools such as `cloister top` that show call rates without
// an HTTP port. Only members holding the cluster secret can call it.
const CallsServedHandler = "cloister.calls-served"

// registerCallsServed registers CallsServedHandler; it is not counted.
func (n *Node) registerCallsServed() {
	n.calls.Handle(CallsServedHandler, func(context.Context, rpc.Request) ([]byte, error) {
		return binary.AppendUvarint(nil, n.served.Load()), nil
	})
}
