package registry

import (
	"context"
	"fmt"

	"github.com/cloister-go/cloister"
)

// Call calls the handler of name on whichever member holds it and waits
// for its reply: ErrNoSuchName when nobody does.
func (r *Registry) Call(ctx context.Context, name string, req []byte) ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	reg, ok := r.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchName, name)
	}
	if reg.Holder.ID == r.self.ID {
		h := r.handler(name)
		if h == nil {
			return nil, fmt.Errorf("%w: %q", ErrNoSuchName, name)
		}
		return h(ctx, r.self, req)
	}
	return r.host.Call(ctx, reg.Holder, "registry.call", encodeCall(name, req))
}

// Cast sends msg to the handler of name on whichever member holds it,
// without waiting for it to run: ErrNoSuchName when nobody does.
func (r *Registry) Cast(ctx context.Context, name string, msg []byte) error {
	if err := r.check(); err != nil {
		return err
	}
	reg, ok := r.Lookup(name)
	if !ok {
		return fmt.Errorf("%w: %q", ErrNoSuchName, name)
	}
	if reg.Holder.ID == r.self.ID {
		h := r.handler(name)
		if h == nil {
			return fmt.Errorf("%w: %q", ErrNoSuchName, name)
		}
		go func() { _, _ = h(r.ctx, r.self, msg) }() // ends with the handler; r.ctx ends when the node stops
		return nil
	}
	return r.host.Cast(ctx, reg.Holder, "registry.cast", encodeCall(name, msg))
}

func (r *Registry) handler(name string) cloister.Handler {
	r.hmu.RLock()
	defer r.hmu.RUnlock()
	return r.handlers[name]
}

func (r *Registry) handleCall(ctx context.Context, from cloister.Member, body []byte) ([]byte, error) {
	name, req, err := decodeCall(body)
	if err != nil {
		return nil, err
	}
	h := r.handler(name)
	if h == nil {
		return nil, fmt.Errorf("%w: %q is not held by %s", ErrNoSuchName, name, r.self.Name)
	}
	return h(ctx, from, req)
}

func (r *Registry) handleCast(ctx context.Context, from cloister.Member, body []byte) ([]byte, error) {
	return r.handleCall(ctx, from, body)
}
