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
//	| optional fields, each: tag (1 byte) | uvarint length | value
//
// Optional fields let the format grow without a flag day: a reader skips
// the tags it does not know. Tag 1 is the quorum advert (metaTagQuorum).
type meta struct {
	View   uint64
	State  State
	Roles  []string
	Weight float64
	// Quorum is the member's part in the quorum protocol; HasQuorum is
	// false when its advert carried none.
	Quorum    core.QuorumAdvert
	HasQuorum bool
	// Seq numbers one incarnation's adverts from 1 (0 in the metadata it
	// starts with): adverts arrive both by gossip and straight from the
	// member, so a receiver keeps the highest.
	Seq uint64
}

// metaTagQuorum is the optional field of the quorum advert:
//
//	uvarint Term | uvarint Accept | uvarint Floor | flags (1 byte: bit 0 OK)
const metaTagQuorum = 1

// maxOptionalField bounds the length an optional field may claim.
const maxOptionalField = 256

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
	if m.HasQuorum {
		q := make([]byte, 0, 3*binary.MaxVarintLen64+1)
		q = binary.AppendUvarint(q, m.Quorum.Term)
		q = binary.AppendUvarint(q, m.Quorum.Accept)
		q = binary.AppendUvarint(q, m.Quorum.Floor)
		var flags byte
		if m.Quorum.OK {
			flags |= 1
		}
		q = append(q, flags)
		b = append(b, metaTagQuorum)
		b = binary.AppendUvarint(b, uint64(len(q)))
		b = append(b, q...)
	}
	return b
}

// decodeOptional reads the optional fields after the roles into m,
// skipping unknown tags.
func decodeOptional(b []byte, m *meta) error {
	for len(b) > 0 {
		tag := b[0]
		n, k := binary.Uvarint(b[1:])
		if k <= 0 || n > maxOptionalField || n > uint64(len(b)-1-k) {
			return fmt.Errorf("%w: bad optional field %d", errMeta, tag)
		}
		value := b[1+k : 1+k+int(n)]
		b = b[1+k+int(n):]
		if tag != metaTagQuorum {
			continue // a newer member's field
		}
		var vals [3]uint64
		for i := range vals {
			v, k := binary.Uvarint(value)
			if k <= 0 {
				return fmt.Errorf("%w: bad quorum advert", errMeta)
			}
			vals[i], value = v, value[k:]
		}
		if len(value) < 1 {
			return fmt.Errorf("%w: bad quorum advert", errMeta)
		}
		m.Quorum = core.QuorumAdvert{Term: vals[0], Accept: vals[1], Floor: vals[2], OK: value[0]&1 != 0}
		m.HasQuorum = true
	}
	return nil
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
	if err := decodeOptional(b, &m); err != nil {
		return meta{}, err
	}
	return m, nil
}

// metaSizeLimit is the size of the largest advert a config can produce,
// checked by Validate against what memberlist carries.
func metaSizeLimit(roles []string, weight float64) int {
	q := core.QuorumAdvert{Term: math.MaxUint64, Accept: math.MaxUint64, Floor: math.MaxUint64, OK: true}
	return len(encodeMeta(meta{Roles: roles, Weight: weight, Seq: math.MaxUint64, Quorum: q, HasQuorum: true}))
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
	cm.View, cm.State, cm.Roles, cm.AdvertSeq, cm.Quorum = md.View, md.State, md.Roles, md.Seq, md.Quorum
	if md.Weight > 0 && md.Weight <= maxWeight {
		cm.Weight = md.Weight
	}
	return cm, nil
}
