package wire

import (
	"errors"
	"testing"
)

// Reads past the end, over a limit, or of a count the rest cannot hold
// fail with ErrMalformed, and the error sticks.
func TestReaderBounds(t *testing.T) {
	b := AppendString(AppendUint(nil, 7), "hello")
	r := NewReader(b)
	if r.Uint() != 7 || r.String(5) != "hello" || r.Done() != nil {
		t.Fatal("round trip failed")
	}
	for name, read := range map[string]func(*Reader){
		"string over its limit": func(r *Reader) { r.String(4) },
		"count too large":       func(r *Reader) { r.Uint(); r.Count(2) },
		"past the end":          func(r *Reader) { r.Uint(); r.String(5); r.Byte() },
		"bytes left over":       func(r *Reader) { r.Uint(); _ = r.Done() },
	} {
		r := NewReader(b)
		read(r)
		_ = r.Done()
		if !errors.Is(r.Err(), ErrMalformed) {
			t.Errorf("%s: %v", name, r.Err())
		}
		if r.Uint() != 0 || r.String(10) != "" || r.Rest() != nil {
			t.Errorf("%s: reads after an error return values", name)
		}
	}
	overlong := NewReader([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	if overlong.Uint(); !errors.Is(overlong.Err(), ErrMalformed) {
		t.Fatal("an overlong varint was read")
	}
}
