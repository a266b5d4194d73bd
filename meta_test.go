package cloister

import (
	"errors"
	"math"
	"net/netip"
	"reflect"
	"testing"

	"github.com/cloister-go/cloister/internal/core"
	"github.com/cloister-go/cloister/internal/membership"
)

func TestMetaRoundTrip(t *testing.T) {
	for _, m := range []meta{
		{View: 0x0123456789abcdef, State: Ready, Weight: 1, Seq: 1},
		{View: math.MaxUint64, State: Stopping, Weight: 2.5, Seq: math.MaxUint64, Roles: []string{"web", "worker"}},
		{State: Assembling, Weight: 1},
		{View: 9, State: NoQuorum, Weight: 1, Seq: 4, HasQuorum: true,
			Quorum: core.QuorumAdvert{Term: 3, Accept: 0, Floor: 5, OK: false}},
		{View: 9, State: Ready, Weight: 1, Seq: 5, Roles: []string{"web"}, HasQuorum: true,
			Quorum: core.QuorumAdvert{Term: math.MaxUint64, Accept: math.MaxUint64, Floor: math.MaxUint64, OK: true}},
		{View: 9, State: Ready, Weight: 1, Seq: 6, HasQuorum: true,
			Quorum: core.QuorumAdvert{Term: 4, Accept: 4, Floor: 4, OK: true, Committed: true}},
	} {
		b := encodeMeta(m)
		got, err := decodeMeta(b)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("decodeMeta(encodeMeta(%+v)) = %+v, %v", m, got, err)
		}
	}
	if n := len(encodeMeta(meta{View: 1, State: Ready, Weight: 1, Seq: 3})); n > 24 {
		t.Fatalf("a plain advert takes %d bytes", n)
	}
}

// Optional fields let the advert grow: a reader skips the tags it does not
// know, and still reads the ones it does.
func TestMetaSkipsUnknownOptionalFields(t *testing.T) {
	m := meta{View: 9, State: Ready, Weight: 1, Seq: 5, HasQuorum: true, Quorum: core.QuorumAdvert{Term: 2, Accept: 2, Floor: 2, OK: true}}
	b := encodeMeta(m)
	newer := append(append([]byte(nil), b...), 77, 3, 'x', 'y', 'z') // a field of a later version
	got, err := decodeMeta(newer)
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("decodeMeta with an unknown field = %+v, %v; want %+v", got, err, m)
	}
	older := encodeMeta(meta{View: 9, State: Ready, Weight: 1, Seq: 5}) // no quorum advert
	if got, err := decodeMeta(older); err != nil || got.HasQuorum {
		t.Fatalf("decodeMeta without the quorum field = %+v, %v", got, err)
	}
	// Flags a reader does not know are ignored: this is how a build that
	// knows only OK reads a commit, and how this one reads later flags.
	flagged := encodeMeta(m)
	flagged[len(flagged)-1] |= 0x80
	if got, err := decodeMeta(flagged); err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("decodeMeta with an unknown flag = %+v, %v; want %+v", got, err, m)
	}
	for name, bad := range map[string][]byte{
		"length past the end":  append(append([]byte(nil), b...), 77, 9, 'x'),
		"length over the cap":  append(append([]byte(nil), b...), 77, 0xff, 0x7f),
		"short quorum advert":  append(encodeMeta(meta{View: 9, State: Ready, Weight: 1}), metaTagQuorum, 2, 1, 1),
		"quorum without flags": append(encodeMeta(meta{View: 9, State: Ready, Weight: 1}), metaTagQuorum, 3, 1, 1, 1),
	} {
		if _, err := decodeMeta(bad); !errors.Is(err, errMeta) {
			t.Errorf("%s: err = %v, want errMeta", name, err)
		}
	}
}

func TestMetaRejectsGarbage(t *testing.T) {
	good := encodeMeta(meta{View: 7, State: Ready, Weight: 1, Seq: 2, Roles: []string{"web"}})
	for name, b := range map[string][]byte{
		"empty":          {},
		"version 1 JSON": []byte(`{"v":1,"view":"7","st":"ready","w":1}`),
		"truncated":      good[:len(good)-2],
		"trailing":       append(append([]byte(nil), good...), 0),
		"bad state":      encodeMeta(meta{State: 99}),
		"bad seq":        {metaVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	} {
		if _, err := decodeMeta(b); !errors.Is(err, errMeta) {
			t.Errorf("%s: err = %v, want errMeta", name, err)
		}
	}
	// An unreadable advert leaves the member alive but agreeing on nothing.
	m, err := decodeMember(membership.Member{ID: "app@127.0.0.1:1#5", Addr: netip.MustParseAddrPort("127.0.0.1:1"), Meta: []byte("garbage")})
	if err == nil || m.View != 0 || m.Name != "app@127.0.0.1:1" {
		t.Fatalf("decodeMember of garbage = %+v, %v", m, err)
	}
}

func FuzzDecodeMeta(f *testing.F) {
	f.Add(encodeMeta(meta{View: 7, State: Ready, Weight: 1, Seq: 2, Roles: []string{"web"}}))
	f.Add([]byte{metaVersion})
	// A role claiming 255 bytes (a length of 255 plus 1 once overflowed a
	// byte and panicked), and a later format with an unknown field.
	trunc := encodeMeta(meta{View: 7, State: Ready, Weight: 1, Roles: []string{"w"}})
	f.Add(append(trunc[:len(trunc)-2], 255, 'w'))
	f.Add(encodeMetaAs(meta{View: 7, State: Ready, Weight: 1}, advertFormat{version: metaVersion + 1, minReadable: metaVersion, extra: []byte{9, 1, 0}}))
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMeta(b)
		if err != nil {
			if !errors.Is(err, errMeta) {
				t.Fatalf("error %v does not wrap errMeta", err)
			}
			return
		}
		if len(m.Roles) > 255 || m.State.String() == "unknown" {
			t.Fatalf("accepted %+v", m)
		}
		again, err := decodeMeta(encodeMeta(m))
		if err != nil || !reflect.DeepEqual(again, m) && !math.IsNaN(m.Weight) {
			t.Fatalf("round trip of %+v gave %+v, %v", m, again, err)
		}
	})
}
