package rpc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// Application errors that cross the wire. A handler's error travels as its
// text; an error registered with RegisterError travels with its name too,
// and the caller's RemoteError matches the caller's registered error with
// errors.Is. Both sides register the same names at init, the way
// encoding/gob registers types.

// maxErrorName bounds a registered error's name.
const maxErrorName = 64

var registry struct {
	sync.RWMutex
	byName map[string]error
	order  []string // registration order: the first match wins
}

// ErrRegistry is returned by RegisterError for a name that is empty, too
// long, or already registered for another error.
var ErrRegistry = errors.New("rpc: error registry")

// RegisterError makes err cross the wire under name: a handler whose
// error matches err (errors.Is) is reported to the caller with the name,
// and the caller's RemoteError matches err. Register every such error on
// every node, under the same names, before calls begin.
func RegisterError(name string, err error) error {
	if name == "" || len(name) > maxErrorName || err == nil {
		return fmt.Errorf("%w: name %q: want 1 to %d bytes and an error", ErrRegistry, name, maxErrorName)
	}
	registry.Lock()
	defer registry.Unlock()
	if prev, ok := registry.byName[name]; ok {
		if prev == err {
			return nil
		}
		return fmt.Errorf("%w: %q is already registered for another error", ErrRegistry, name)
	}
	if registry.byName == nil {
		registry.byName = map[string]error{}
	}
	registry.byName[name] = err
	registry.order = append(registry.order, name)
	return nil
}

// registeredName returns the name of the first registered error err
// matches, or "".
func registeredName(err error) string {
	registry.RLock()
	defer registry.RUnlock()
	for _, name := range registry.order {
		if errors.Is(err, registry.byName[name]) {
			return name
		}
	}
	return ""
}

// registered returns the error registered under name, or nil.
func registered(name string) error {
	registry.RLock()
	defer registry.RUnlock()
	return registry.byName[name]
}

// appendRegisteredMessage is the payload text of a codeRegistered error:
// the name's length, the name, the message.
func appendRegisteredMessage(name, msg string) string {
	b := binary.AppendUvarint(nil, uint64(len(name)))
	return string(append(append(b, name...), msg...))
}

// splitRegisteredMessage undoes appendRegisteredMessage.
func splitRegisteredMessage(s string) (name, msg string, ok bool) {
	n, k := binary.Uvarint([]byte(s))
	if k <= 0 || n == 0 || n > maxErrorName || n > uint64(len(s)-k) {
		return "", s, false
	}
	return s[k : k+int(n)], s[k+int(n):], true
}
