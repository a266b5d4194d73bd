package ring

// Owner returns the member that owns key. It does not allocate. On an
// empty ring it returns ErrEmpty.
func (r *Ring) Owner(key []byte) (Member, error) {
	if r == nil || len(r.members) == 0 {
		return Member{}, ErrEmpty
	}
	return r.members[r.table[sum64(key)>>(r.shift&63)]], nil
}

// OwnerString is Owner for a string key. It does not allocate.
func (r *Ring) OwnerString(key string) (Member, error) {
	if r == nil || len(r.members) == 0 {
		return Member{}, ErrEmpty
	}
	return r.members[r.table[sum64(key)>>(r.shift&63)]], nil
}

// OwnersN returns the preference list of key: n distinct members, the
// first being Owner(key). Use it to place replicas. If n exceeds Len(), it
// returns all members in preference order and ErrTooFew. On an empty ring
// it returns ErrEmpty; n <= 0 gives an empty list.
//
// The list is found by walking the slots from the key's slot onwards and
// taking each owner not yet listed, so a member's chance to follow another
// is proportional to its share of slots, and a topology change alters the
// list only where a slot on that walk changed owner.
func (r *Ring) OwnersN(key []byte, n int) ([]Member, error) {
	return r.appendOwners(nil, sum64(key), n)
}

// OwnersNString is OwnersN for a string key.
func (r *Ring) OwnersNString(key string, n int) ([]Member, error) {
	return r.appendOwners(nil, sum64(key), n)
}

// AppendOwnersN appends the preference list of key (see OwnersN) to dst and
// returns the extended slice. It does not allocate when dst has room for
// min(n, Len()) more members.
func (r *Ring) AppendOwnersN(dst []Member, key []byte, n int) ([]Member, error) {
	return r.appendOwners(dst, sum64(key), n)
}

// AppendOwnersNString is AppendOwnersN for a string key.
func (r *Ring) AppendOwnersNString(dst []Member, key string, n int) ([]Member, error) {
	return r.appendOwners(dst, sum64(key), n)
}

// smallN is the largest list built with a linear duplicate check; longer
// ones use a bitset on the stack.
const smallN = 16

func (r *Ring) appendOwners(dst []Member, h uint64, n int) ([]Member, error) {
	if r == nil || len(r.members) == 0 {
		return dst, ErrEmpty
	}
	if n <= 0 {
		return dst, nil
	}
	want := min(n, len(r.members))
	if dst == nil {
		dst = make([]Member, 0, want)
	}
	slot := int(h >> (r.shift & 63))
	if want <= smallN {
		dst = r.walkSmall(dst, slot, want)
	} else {
		dst = r.walkLarge(dst, slot, want)
	}
	if n > len(r.members) {
		return dst, ErrTooFew
	}
	return dst, nil
}

// walkSmall appends want distinct owners met walking from slot.
func (r *Ring) walkSmall(dst []Member, slot, want int) []Member {
	var seen [smallN]uint16
	got := 0
	has := func(m uint16) bool {
		for _, x := range seen[:got] {
			if x == m {
				return true
			}
		}
		return false
	}
	mask := len(r.table) - 1
	for k := 0; k < len(r.table) && got < want; k++ {
		if m := r.table[(slot+k)&mask]; !has(m) {
			seen[got] = m
			got++
			dst = append(dst, r.members[m])
		}
	}
	// Members owning no slot at all (possible only with tiny weights) come
	// last, in ID order.
	for m := 0; m < len(r.members) && got < want; m++ {
		if !has(uint16(m)) {
			seen[got] = uint16(m)
			got++
			dst = append(dst, r.members[m])
		}
	}
	return dst
}

// walkLarge is walkSmall with a bitset, for long lists.
func (r *Ring) walkLarge(dst []Member, slot, want int) []Member {
	var seen [(MaxMembers + 64) / 64]uint64
	got := 0
	mask := len(r.table) - 1
	for k := 0; k < len(r.table) && got < want; k++ {
		m := r.table[(slot+k)&mask]
		if seen[m/64]&(1<<(m%64)) == 0 {
			seen[m/64] |= 1 << (m % 64)
			got++
			dst = append(dst, r.members[m])
		}
	}
	for m := 0; m < len(r.members) && got < want; m++ {
		if seen[m/64]&(1<<(m%64)) == 0 {
			seen[m/64] |= 1 << (m % 64)
			got++
			dst = append(dst, r.members[m])
		}
	}
	return dst
}
