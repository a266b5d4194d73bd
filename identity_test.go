package cloister

import (
	"net/netip"
	"testing"
)

func TestChooseAdvertise(t *testing.T) {
	a := netip.MustParseAddr
	ap := netip.MustParseAddrPort
	any4 := ap("0.0.0.0:4747")
	local := []netip.Addr{a("127.0.0.1"), a("::1"), a("fe80::1"), a("10.0.0.5"), a("172.18.0.3"), a("fd00::7")}
	tests := []struct {
		name       string
		explicit   netip.AddrPort
		bind       netip.AddrPort
		discovered []netip.Addr
		local      []netip.Addr
		want       netip.Addr
	}{
		{"explicit wins", ap("192.0.2.1:1"), ap("10.0.0.5:4747"), nil, local, a("192.0.2.1")},
		{"specific bind", netip.AddrPort{}, ap("10.0.0.5:4747"), []netip.Addr{a("172.18.0.3")}, local, a("10.0.0.5")},
		{"own address among DNS answers", netip.AddrPort{}, any4, []netip.Addr{a("172.18.0.2"), a("172.18.0.3"), a("172.18.0.4")}, local, a("172.18.0.3")},
		{"own IPv6 address among DNS answers", netip.AddrPort{}, ap("[::]:4747"), []netip.Addr{a("fd00::6"), a("fd00::7")}, local, a("fd00::7")},
		{"mapped IPv4 answer", netip.AddrPort{}, any4, []netip.Addr{a("::ffff:172.18.0.3")}, local, a("172.18.0.3")},
		{"first non-loopback IPv4", netip.AddrPort{}, any4, []netip.Addr{a("192.0.2.9")}, local, a("10.0.0.5")},
		{"IPv6 when no IPv4", netip.AddrPort{}, ap("[::]:4747"), nil, []netip.Addr{a("::1"), a("fe80::1"), a("fd00::7")}, a("fd00::7")},
		{"loopback when nothing else", netip.AddrPort{}, any4, nil, []netip.Addr{a("127.0.0.1")}, a("127.0.0.1")},
		{"IPv6 loopback on an IPv6-only host", netip.AddrPort{}, ap("[::]:4747"), nil, []netip.Addr{a("::1")}, a("::1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := chooseAdvertise(tt.explicit, tt.bind, tt.discovered, tt.local); got != tt.want {
				t.Fatalf("chooseAdvertise = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMemberIDRoundTrip(t *testing.T) {
	name := memberName("shop", netip.MustParseAddrPort("[fd00::7]:4747"))
	if name != "shop@[fd00::7]:4747" {
		t.Fatalf("name = %s", name)
	}
	inc := newIncarnation()
	gotName, gotInc, ok := parseMemberID(memberID(name, inc))
	if !ok || gotName != name || gotInc != inc {
		t.Fatalf("parse(%s) = %s, %x, %v", memberID(name, inc), gotName, gotInc, ok)
	}
	for _, bad := range []string{"", "no-hash", "x#zz", "x#"} {
		if _, _, ok := parseMemberID(bad); ok {
			t.Fatalf("parseMemberID(%q) accepted", bad)
		}
	}
	if later := newIncarnation(); later <= inc-0xffff {
		t.Fatalf("a later incarnation %x is not larger than %x", later, inc)
	}
}
