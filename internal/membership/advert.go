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

// appendID appends a member's ID as every message carries one:
//
//	uvarint len(id) | id
func appendID(b []byte, id string) []byte {
	b = binary.AppendUvarint(b, uint64(len(id)))
	return append(b, id...)
}

// readID reads an ID of appendID's form from the start of b, and returns
// it with what follows it; false for a truncated, empty or overlong ID.
func readID(b []byte) (id string, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n == 0 || n > maxIDLen || n > uint64(len(b)-k) {
		return "", nil, false
	}
	return string(b[k : k+int(n)]), b[k+int(n):], true
}

// encodeOwn is a member's own advert as a message of the given kind.
func encodeOwn(kind byte, id string, meta []byte) []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(id)+len(meta))
	b = appendID(append(b, kind), id)
	return append(b, meta...)
}

// decodeAdvert returns the sender's ID and a copy of its metadata, from a
// direct advert or a request to relay one.
func decodeAdvert(b []byte) (id string, meta []byte, err error) {
	if len(b) < 1 || (b[0] != advertKind && b[0] != relayKind) {
		return "", nil, fmt.Errorf("%w: unknown kind", errBadAdvert)
	}
	id, meta, ok := readID(b[1:])
	if !ok {
		return "", nil, fmt.Errorf("%w: bad id length", errBadAdvert)
	}
	if len(meta) > MaxMetaSize {
		return "", nil, fmt.Errorf("%w: metadata of %d bytes", errBadAdvert, len(meta))
	}
	return id, append([]byte(nil), meta...), nil
}
