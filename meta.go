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
// Version 3 adds the minimum readable version and optional fields.
const metaVersion = 3

// advertFormat is how a node encodes its adverts: the current format,
// or, in tests, a later one that this build must still read.
type advertFormat struct {
	version, minReadable byte
	extra                []byte // optional fields this build does not know, appended as they are
}

// currentFormat is this build's advert format.
var currentFormat = advertFormat{version: metaVersion, minReadable: metaVersion}

// meta is what a member gossips about itself besides its ID and address:
//
//	version (1 byte) | minimum readable version (1 byte) | uvarint Seq
//	| View (8 bytes, big-endian) | State (1 byte)
//	| Weight (IEEE 754 bits, 8 bytes, big-endian) | role count (1 byte)
//	| per role: length (1 byte), bytes
//	| optional fields, each: tag (1 byte) | uvarint length | value
//
// The format grows without a flag day: a reader reads any version whose
// minimum readable version is at most its own, skipping the optional
// fields it does not know; a writer raises the minimum only for a change
// older readers would misread. Tag 1 is the quorum advert (metaTagQuorum),
// tag 2 the digest of the ring configuration (metaTagRings).
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
	// RingsDigest digests the member's Config.Rings (0: not advertised):
	// members whose digests differ answer Whois differently.
	RingsDigest uint64
	// Hidden: the member is hidden (Config.Hidden): it is never counted.
	Hidden bool
}

// metaTagHidden is the optional field of a hidden member: an empty value.
// A reader that does not know it skips it, and counts the member as an
// ordinary one; hidden nodes need members of a build that knows it.
const metaTagHidden = 3

// metaTagRings is the optional field of the ring configuration's digest:
// 8 bytes, big-endian.
const metaTagRings = 2

// metaTagQuorum is the optional field of the quorum advert:
//
//	uvarint Term | uvarint Accept | uvarint Floor | flags (1 byte: bit 0 OK, bit 1 Committed)
//
// A reader ignores the flags it does not know: a member of an older build
// reads a committed member's advert as before, and commits only on every
// acceptance.
const metaTagQuorum = 1

// The quorum advert's flags.
const (
	quorumFlagOK        = 1 << 0
	quorumFlagCommitted = 1 << 1
)

// maxOptionalField bounds the length an optional field may claim.
const maxOptionalField = 256

// errMeta is wrapped by every metadata decoding error.
var errMeta = errors.New("unreadable metadata")

func encodeMeta(m meta) []byte { return encodeMetaAs(m, currentFormat) }

// encodeMetaAs encodes m in the given format.
func encodeMetaAs(m meta, f advertFormat) []byte {
	b := make([]byte, 0, 48)
	b = append(b, f.version, f.minReadable)
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
			flags |= quorumFlagOK
		}
		if m.Quorum.Committed {
			flags |= quorumFlagCommitted
		}
		q = append(q, flags)
		b = append(b, metaTagQuorum)
		b = binary.AppendUvarint(b, uint64(len(q)))
		b = append(b, q...)
	}
	if m.RingsDigest != 0 {
		b = append(b, metaTagRings, 8)
		b = binary.BigEndian.AppendUint64(b, m.RingsDigest)
	}
	if m.Hidden {
		b = append(b, metaTagHidden, 0)
	}
	return append(b, f.extra...)
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
		switch tag {
		case metaTagQuorum:
		case metaTagRings:
			if len(value) != 8 {
				return fmt.Errorf("%w: bad ring digest", errMeta)
			}
			m.RingsDigest = binary.BigEndian.Uint64(value)
			continue
		case metaTagHidden:
			m.Hidden = true
			continue
		default:
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
		m.Quorum = core.QuorumAdvert{Term: vals[0], Accept: vals[1], Floor: vals[2], OK: value[0]&quorumFlagOK != 0,
			Committed: value[0]&quorumFlagCommitted != 0}
		m.HasQuorum = true
	}
	return nil
}

func decodeMeta(b []byte) (meta, error) {
	var m meta
	switch {
	case len(b) > 0 && b[0] == '{':
		return m, fmt.Errorf("%w: version 1 (JSON), this build reads %d", errMeta, metaVersion)
	case len(b) < 2:
		return m, fmt.Errorf("%w: truncated", errMeta)
	case b[0] < metaVersion:
		return m, fmt.Errorf("%w: version %d, this build reads %d and later", errMeta, b[0], metaVersion)
	case b[1] > metaVersion:
		return m, fmt.Errorf("%w: version %d needs a reader of version %d, this build reads %d", errMeta, b[0], b[1], metaVersion)
	}
	b = b[2:]
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
	q := core.QuorumAdvert{Term: math.MaxUint64, Accept: math.MaxUint64, Floor: math.MaxUint64, OK: true, Committed: true}
	return len(encodeMeta(meta{Roles: roles, Weight: weight, Seq: math.MaxUint64, Quorum: q, HasQuorum: true, RingsDigest: math.MaxUint64, Hidden: true}))
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
	cm.RingsDigest, cm.Hidden = md.RingsDigest, md.Hidden
	if md.Weight > 0 && md.Weight <= maxWeight {
		cm.Weight = md.Weight
	}
	return cm, nil
}
