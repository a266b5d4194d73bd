package membership

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A direct advert is a memberlist user message:
//
//	advertKind (1 byte) | uvarint len(id) | id | metadata
//
// It is encrypted and authenticated like all gossip when a key is set.
const advertKind = 1

// errBadAdvert is why an unreadable direct advert is dropped.
var errBadAdvert = errors.New("membership: unreadable advert")

// maxIDLen bounds member IDs in direct adverts (memberlist names are
// carried in single packets too).
const maxIDLen = 512

func encodeAdvert(id string, meta []byte) []byte { return encodeOwn(advertKind, id, meta) }

// encodeRelay is a member's advert sent to a relay (relay.go).
func encodeRelay(id string, meta []byte) []byte { return encodeOwn(relayKind, id, meta) }

// encodeOwn is a member's own advert as a message of the given kind.
func encodeOwn(kind byte, id string, meta []byte) []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(id)+len(meta))
	b = append(b, kind)
	b = binary.AppendUvarint(b, uint64(len(id)))
	b = append(b, id...)
	return append(b, meta...)
}

// decodeAdvert returns the sender's ID and a copy of its metadata, from a
// direct advert or a request to relay one.
func decodeAdvert(b []byte) (id string, meta []byte, err error) {
	if len(b) < 1 || (b[0] != advertKind && b[0] != relayKind) {
		return "", nil, fmt.Errorf("%w: unknown kind", errBadAdvert)
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 || n == 0 || n > maxIDLen || n > uint64(len(b)-1-k) {
		return "", nil, fmt.Errorf("%w: bad id length", errBadAdvert)
	}
	rest := b[1+k:]
	id, meta = string(rest[:n]), rest[n:]
	if len(meta) > MaxMetaSize {
		return "", nil, fmt.Errorf("%w: metadata of %d bytes", errBadAdvert, len(meta))
	}
	return id, append([]byte(nil), meta...), nil
}
