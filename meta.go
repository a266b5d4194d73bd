package cloister

import (
	"encoding/json"
	"fmt"

	"github.com/cloister-go/cloister/internal/core"
	"github.com/cloister-go/cloister/internal/membership"
)

// metaVersion is the version of the metadata format members gossip.
const metaVersion = 1

// meta is what a member gossips about itself besides its ID and address.
type meta struct {
	Version int      `json:"v"`
	View    uint64   `json:"view,string"`
	State   string   `json:"st"`
	Roles   []string `json:"roles,omitempty"`
	Weight  float64  `json:"w"`
}

func encodeMeta(m meta) []byte {
	m.Version = metaVersion
	b, _ := json.Marshal(m) // a struct of strings and numbers cannot fail
	return b
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
	var md meta
	if err := json.Unmarshal(m.Meta, &md); err != nil {
		return cm, fmt.Errorf("member %s: metadata: %w", m.ID, err)
	}
	if md.Version != metaVersion {
		return cm, fmt.Errorf("member %s: metadata version %d, want %d", m.ID, md.Version, metaVersion)
	}
	st, _ := core.ParseState(md.State)
	cm.View, cm.State, cm.Roles = md.View, st, md.Roles
	if md.Weight > 0 {
		cm.Weight = md.Weight
	}
	return cm, nil
}
