package core

// Remembering the vote. The node loop asks the core for its vote on the
// whole view several times for every batch of adverts (advancing the
// protocol, evaluating the state, building the advert, the readiness
// probe), and up to five batches a second at 1,000 members. Each answer is
// a walk of the view against the reference and every pending acceptance
// (a quarter of the loop's time in a profile of a 1,000-node kill in one
// process), while most batches change no member of the view, only what
// members advertise, which the vote does not read.
//
// On the whole view with no member stopping, okFor reads only the view's
// member IDs, identified by the view's ID, epoch and size, and what
// Core.votes counts: the reference, the pending acceptances, joined and
// the policy. So its answer for those is kept until one of them changes.
// A stopping member's floor and state are read too (leaving), so then
// nothing is kept.

// okMemo is okFor's last answer on the whole view; none while its key is
// zero (no view has ID 0: digest).
type okMemo struct {
	key okMemoKey
	ok  bool
}

// okMemoKey is what the answer was given for.
type okMemoKey struct {
	votes   uint64
	view    uint64
	epoch   uint64
	members int
}

// okKey returns the key of okFor's answer on present, and whether it may
// be remembered: present is the view's own member slice and no member but
// this node advertises Stopping.
func (c *Core) okKey(present []Member) (okMemoKey, bool) {
	vm := c.view.Members
	if c.stopping || len(present) != len(vm) || len(vm) == 0 || &present[0] != &vm[0] {
		return okMemoKey{}, false
	}
	return okMemoKey{votes: c.votes, view: c.view.ID, epoch: c.view.Epoch, members: len(vm)}, true
}
