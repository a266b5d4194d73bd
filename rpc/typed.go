package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Codec turns typed values into message bodies and back.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default Codec, encoding/json.
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// ErrCodec marks a failure to encode or decode a typed message on this side.
// A handler's failure to decode its request reaches the caller as a
// *RemoteError instead.
var ErrCodec = errors.New("rpc: codec")

// Caller is what CallTyped needs: an Endpoint, or anything that routes
// calls to one.
type Caller interface {
	Call(ctx context.Context, to Peer, name string, req []byte) ([]byte, error)
}

// Registrar is what HandleTyped needs: an Endpoint, or anything that
// registers handlers on one.
type Registrar interface {
	Handle(name string, h Handler)
}

// CallTyped encodes req with codec (JSON when nil), calls name on the peer
// and decodes the reply.
func CallTyped[Req, Resp any](ctx context.Context, c Caller, to Peer, name string, req Req, codec Codec) (Resp, error) {
	var resp Resp
	if codec == nil {
		codec = JSON
	}
	body, err := codec.Marshal(req)
	if err != nil {
		return resp, fmt.Errorf("%w: encode request to %q: %w", ErrCodec, name, err)
	}
	out, err := c.Call(ctx, to, name, body)
	if err != nil {
		return resp, err
	}
	if err := codec.Unmarshal(out, &resp); err != nil {
		return resp, fmt.Errorf("%w: decode reply from %q: %w", ErrCodec, name, err)
	}
	return resp, nil
}

// HandleTyped registers a handler that decodes its request and encodes its
// reply with codec (JSON when nil). from is the caller's peer ID.
func HandleTyped[Req, Resp any](r Registrar, name string, codec Codec, h func(ctx context.Context, from string, req Req) (Resp, error)) {
	if codec == nil {
		codec = JSON
	}
	r.Handle(name, func(ctx context.Context, raw Request) ([]byte, error) {
		var req Req
		if err := codec.Unmarshal(raw.Body, &req); err != nil {
			return nil, fmt.Errorf("%v: decode request: %v", ErrCodec, err)
		}
		resp, err := h(ctx, raw.From, req)
		if err != nil {
			return nil, err
		}
		return codec.Marshal(resp)
	})
}
