package registry

import (
	"errors"
	"fmt"

	"github.com/cloister-go/cloister"
)

// Errors of the registry. Test for them with errors.Is.
var (
	// ErrNameTaken: another member holds the name. The error is a
	// *NameTakenError naming the holder.
	ErrNameTaken = errors.New("registry: name taken")
	// ErrNoSuchName: nobody holds the name (a lookup found none, or the
	// holder no longer held it when the call arrived). It crosses the wire:
	// errors.Is holds on the caller's side of a call by name.
	ErrNoSuchName = errors.New("registry: no such name")
	// ErrInvalidName: a name is empty or longer than MaxName bytes.
	ErrInvalidName = errors.New("registry: invalid name")
	// ErrTooManyNames: this node holds Options.MaxNames names already.
	ErrTooManyNames = errors.New("registry: too many names on this node")
	// ErrHandoff: a handoff target refused the names (it has no
	// Options.Adopt, or Adopt declined one of them).
	ErrHandoff = errors.New("registry: handoff refused")
)

func init() {
	if err := cloister.RegisterError("registry.no-such-name", ErrNoSuchName); err != nil {
		panic(err)
	}
	if err := cloister.RegisterError("registry.handoff-refused", ErrHandoff); err != nil {
		panic(err)
	}
}

// NameTakenError is the ErrNameTaken of one name.
type NameTakenError struct {
	Name   string
	Holder cloister.Member // ID, Name and Addr of the holder
}

func (e *NameTakenError) Error() string {
	return fmt.Sprintf("registry: name %q taken by %s", e.Name, e.Holder.Name)
}

// Unwrap returns ErrNameTaken.
func (e *NameTakenError) Unwrap() error { return ErrNameTaken }

// MaxName is the longest name, in bytes.
const MaxName = 255

func checkName(name string) error {
	if name == "" || len(name) > MaxName {
		return fmt.Errorf("%w: %d bytes, want 1 to %d", ErrInvalidName, len(name), MaxName)
	}
	return nil
}
