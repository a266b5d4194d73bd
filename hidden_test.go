package cloister

import (
	"errors"
	"testing"
)

// The hidden flag is an optional advert field (tag 3): it round-trips, and
// a reader that does not know tag 3 skips it like any unknown field.
func TestHiddenAdvertField(t *testing.T) {
	b := encodeMeta(meta{View: 7, State: Ready, Weight: 1, Hidden: true})
	m, err := decodeMeta(b)
	if err != nil || !m.Hidden || m.View != 7 {
		t.Fatalf("decode: %+v, %v", m, err)
	}
	plain, err := decodeMeta(encodeMeta(meta{View: 7, State: Ready, Weight: 1}))
	if err != nil || plain.Hidden {
		t.Fatalf("a member that is not hidden: %+v, %v", plain, err)
	}
	// An older reader: the same bytes through the generic skip of an
	// unknown tag (tag 3 stands for a tag this build would not know).
	var old meta
	if err := decodeOptional([]byte{metaTagHidden + 100, 0}, &old); err != nil || old.Hidden {
		t.Fatalf("an unknown empty field is not skipped: %+v, %v", old, err)
	}
}

func TestHiddenFromEnv(t *testing.T) {
	cfg, err := configFromLookup(mapLookup(map[string]string{EnvHidden: "true"}))
	if err != nil || !cfg.Hidden {
		t.Fatalf("CLOISTER_HIDDEN=true: %+v, %v", cfg.Hidden, err)
	}
	_, err = configFromLookup(mapLookup(map[string]string{EnvHidden: "maybe"}))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != EnvHidden {
		t.Fatalf("CLOISTER_HIDDEN=maybe: %v, want a ConfigError naming %s", err, EnvHidden)
	}
}

func mapLookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}
