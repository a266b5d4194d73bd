package cloister

import (
	"errors"
	"math"
	"net/netip"
	"reflect"
	"testing"

	"github.com/cloister-go/cloister/internal/membership"
)

func TestMetaRoundTrip(t *testing.T) {
	for _, m := range []meta{
		{View: 0x0123456789abcdef, State: Ready, Weight: 1, Seq: 1},
		{View: math.MaxUint64, State: Stopping, Weight: 2.5, Seq: math.MaxUint64, Roles: []string{"web", "worker"}},
		{State: Assembling, Weight: 1},
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
