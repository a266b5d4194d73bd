package cloister

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/cloister-go/cloister/internal/core"
	"github.com/cloister-go/cloister/internal/membership"
)

// metaVersion is the version of the metadata format members gossip.
// Version 1 was JSON; version 2 is binary, a third of the size, because
// every advert rides in alive messages that gossip packs into 1400-byte
// packets, and at 50 members the queue of them was what paced assembly.
const metaVersion = 2

// meta is what a member gossips about itself besides its ID and address:
//
//	version (1 byte) | uvarint Seq | View (8 bytes, big-endian) | State (1 byte)
//	| Weight (IEEE 754 bits, 8 bytes, big-endian) | role count (1 byte)
//	| per role: length (1 byte), bytes
type meta struct {
	View   uint64
	State  State
	Roles  []string
	Weight float64
	// Seq numbers one incarnation's adverts from 1 (0 in the metadata it
	// starts with): adverts arrive both by gossip and straight from the
	// member, so a receiver keeps the highest.
	Seq uint64
}

// errMeta is wrapped by every metadata decoding error.
var errMeta = errors.New("unreadable metadata")

func encodeMeta(m meta) []byte {
	b := make([]byte, 0, 32)
	b = append(b, metaVersion)
	b = binary.AppendUvarint(b, m.Seq)
	b = binary.BigEndian.AppendUint64(b, m.View)
	b = append(b, byte(m.State))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(m.Weight))
	b = append(b, byte(len(m.Roles))) // Validate allows at most 16
	for _, r := range m.Roles {
		b = append(b, byte(len(r))) // at most 32 bytes each
		b = append(b, r...)
	}
	return b
}

func decodeMeta(b []byte) (meta, error) {
	var m meta
	if len(b) == 0 || b[0] != metaVersion {
		if len(b) > 0 && b[0] == '{' {
			return m, fmt.Errorf("%w: version 1 (JSON), want %d", errMeta, metaVersion)
		}
		return m, fmt.Errorf("%w: unknown version", errMeta)
	}
	b = b[1:]
	seq, k := binary.Uvarint(b)
	if k <= 0 {
		return m, fmt.Errorf("%w: bad sequence number", errMeta)
	}
	b = b[k:]
	if len(b) < 8+1+8+1 {
		return m, fmt.Errorf("%w: truncated", errMeta)
	}
	m.Seq = seq
	m.View = binary.BigEndian.Uint64(b)
	m.State = State(b[8])
	m.Weight = math.Float64frombits(binary.BigEndian.Uint64(b[9:]))
	roles := int(b[17])
	b = b[18:]
	if m.State.String() == "unknown" {
		return meta{}, fmt.Errorf("%w: unknown state %d", errMeta, m.State)
	}
	if roles > 0 {
		m.Roles = make([]string, 0, roles)
	}
	for range roles {
		if len(b) < 1 || len(b) < 1+int(b[0]) {
			return meta{}, fmt.Errorf("%w: truncated roles", errMeta)
		}
		n := 1 + int(b[0]) // int first: a length of 255 plus 1 overflows a byte
		m.Roles = append(m.Roles, string(b[1:n]))
		b = b[n:]
	}
	if len(b) != 0 {
		return meta{}, fmt.Errorf("%w: %d trailing bytes", errMeta, len(b))
	}
	return m, nil
}

// metaSizeLimit is the size of the largest advert a config can produce,
// checked by Validate against what memberlist carries.
func metaSizeLimit(roles []string, weight float64) int {
	return len(encodeMeta(meta{Roles: roles, Weight: weight, Seq: math.MaxUint64}))
}

// decodeMember builds the core's view of a memberlist member. A member
// whose ID or metadata cannot be read still counts as alive but advertises
// no view, so it never lets the cluster agree until it speaks our format.
func decodeMember(m membership.Member) (core.Member, error) {
	name, inc, ok := parseMemberID(m.ID)
	if !ok {
		name, inc = m.ID, 0
	}
	cm := core.Member{ID: m.ID, Name: name, Addr: m.Addr, Incarnation: inc, Weight: 1}
	if !ok {
		return cm, fmt.Errorf("member id %q is not name#incarnation", m.ID)
	}
	if len(m.Meta) == 0 {
		return cm, nil
	}
	md, err := decodeMeta(m.Meta)
	if err != nil {
		return cm, fmt.Errorf("member %s: %w", m.ID, err)
	}
	cm.View, cm.State, cm.Roles, cm.AdvertSeq = md.View, md.State, md.Roles, md.Seq
	if md.Weight > 0 && md.Weight <= maxWeight {
		cm.Weight = md.Weight
	}
	return cm, nil
}
