package membership

import "encoding/binary"

// A batch of down notices names several members seen to end in one
// datagram:
//
//	downsKind (1 byte) | (uvarint len(id) | id)...
//
// Ten members killed together used to be ten datagrams to each member
// from each watcher, sent one receiver after the other: at 500 members in
// one process the last receivers got the first notice about a second
// before the rest of the row (a second watcher's single notice went out
// beside them), and applied the kill as several views. A batch reaches a
// receiver at once, at a tenth of the datagrams. A receiver from before
// batches (delegate protocol below downsWire) gets the single notices.
const (
	downsKind = 7

	// downsWire is the delegate protocol version from which a node reads
	// batches of down notices (DelegateProtocolMax). A node from before
	// counts them as unreadable adverts, so it is never sent one.
	downsWire = 3

	// maxDownsBytes bounds one batch, like a relay's (maxBatchBytes).
	maxDownsBytes = maxBatchBytes
)

// encodeDowns returns the batches naming ids, each at most maxDownsBytes
// (an ID is at most maxIDLen, far below).
func encodeDowns(ids []string) [][]byte {
	var out [][]byte
	b := []byte{downsKind}
	for _, id := range ids {
		if len(b) > 1 && len(b)+binary.MaxVarintLen64+len(id) > maxDownsBytes {
			out = append(out, b)
			b = []byte{downsKind}
		}
		b = appendID(b, id)
	}
	return append(out, b)
}

// decodeDowns reads a batch of down notices: the IDs it names, or false
// when it is malformed (empty, truncated, an empty or overlong ID, or more
// IDs than a batch can hold).
func decodeDowns(b []byte) ([]string, bool) {
	if len(b) < 2 || b[0] != downsKind || len(b) > maxDownsBytes {
		return nil, false
	}
	var ids []string
	for rest := b[1:]; len(rest) > 0; {
		id, after, ok := readID(rest)
		if !ok {
			return nil, false
		}
		ids, rest = append(ids, id), after
	}
	return ids, true
}

// receiveDowns hands the live members a batch names to onDown together,
// as receiveDown does a single notice's member. A malformed batch is
// counted as a bad advert and dropped whole. d.mu must not be held.
func (d *delegate) receiveDowns(b []byte) {
	ids, ok := decodeDowns(b)
	if !ok {
		d.badAdverts.Add(1)
		return
	}
	d.down(ids)
}
