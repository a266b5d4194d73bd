package registry

import (
	"net/netip"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/internal/wire"
)

// record is what a holder replicates for a name it holds: the stamp its
// authority granted.
type record struct {
	term, seq, gen uint64
}

func (r record) encode() []byte {
	b := make([]byte, 0, 16)
	b = wire.AppendUint(b, r.term)
	b = wire.AppendUint(b, r.seq)
	return wire.AppendUint(b, r.gen)
}

func decodeRecord(b []byte) (record, error) {
	rd := wire.NewReader(b)
	r := record{term: rd.Uint(), seq: rd.Uint(), gen: rd.Uint()}
	return r, rd.Done()
}

// Answers of an authority to a grant request.
const (
	grantOK       = 0
	grantTaken    = 1
	grantRetry    = 2 // another term or another owner: look again
	grantNoQuorum = 3
)

type grantReply struct {
	status    byte
	term, seq uint64
	holder    cloister.Member // grantTaken
}

func (g grantReply) encode() []byte {
	b := []byte{g.status}
	b = wire.AppendUint(b, g.term)
	b = wire.AppendUint(b, g.seq)
	b = wire.AppendString(b, g.holder.ID)
	b = wire.AppendString(b, g.holder.Name)
	return wire.AppendString(b, g.holder.Addr.String())
}

func decodeGrantReply(b []byte) (grantReply, error) {
	r := wire.NewReader(b)
	g := grantReply{status: r.Byte(), term: r.Uint(), seq: r.Uint()}
	g.holder.ID = r.String(512)
	g.holder.Name = r.String(512)
	addr := r.String(64)
	if err := r.Done(); err != nil {
		return grantReply{}, err
	}
	g.holder.Addr, _ = netip.ParseAddrPort(addr)
	return g, nil
}

// grant request: term, name.
func encodeGrant(term uint64, name string) []byte {
	return wire.AppendString(wire.AppendUint(nil, term), name)
}

func decodeGrant(b []byte) (uint64, string, error) {
	r := wire.NewReader(b)
	term, name := r.Uint(), r.String(MaxName)
	if err := r.Done(); err != nil {
		return 0, "", err
	}
	return term, name, checkName(name)
}

// call by name: name, body.
func encodeCall(name string, body []byte) []byte {
	b := make([]byte, 0, len(name)+len(body)+8)
	return append(wire.AppendString(b, name), body...)
}

func decodeCall(b []byte) (string, []byte, error) {
	r := wire.NewReader(b)
	name := r.String(MaxName)
	body := r.Rest()
	if err := r.Err(); err != nil {
		return "", nil, err
	}
	return name, body, checkName(name)
}

// takeover: count, then name, term, seq, gen per name.
type handed struct {
	name string
	rec  record
}

func encodeTakeover(hs []handed) []byte {
	b := wire.AppendUint(nil, uint64(len(hs)))
	for _, h := range hs {
		b = wire.AppendString(b, h.name)
		b = wire.AppendUint(b, h.rec.term)
		b = wire.AppendUint(b, h.rec.seq)
		b = wire.AppendUint(b, h.rec.gen)
	}
	return b
}

func decodeTakeover(b []byte) ([]handed, error) {
	r := wire.NewReader(b)
	n := r.Count(5)
	hs := make([]handed, 0, n)
	for range n {
		h := handed{name: r.String(MaxName)}
		h.rec = record{term: r.Uint(), seq: r.Uint(), gen: r.Uint()}
		hs = append(hs, h)
	}
	if err := r.Done(); err != nil {
		return nil, err
	}
	for _, h := range hs {
		if err := checkName(h.name); err != nil {
			return nil, err
		}
	}
	return hs, nil
}
