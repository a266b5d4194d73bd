package cloister

import (
	"fmt"
	"testing"
	"time"
)

// A hint about a member starts at most one check per hintCooldown, none
// once the member is known ended, and the memory of both stays bounded
// however many members hints name (a peer's notices cost a bounded amount).
func TestHintStateBoundsChecks(t *testing.T) {
	var h hintState
	now := time.Unix(1000, 0)
	if !h.begin("a", now) {
		t.Fatal("first hint about a: no check")
	}
	if h.begin("a", now.Add(hintCooldown/2)) {
		t.Fatal("second hint about a within the cooldown: checked again")
	}
	if !h.begin("a", now.Add(hintCooldown)) {
		t.Fatal("hint about a after the cooldown: no check")
	}
	h.end("b", now)
	if h.begin("b", now.Add(time.Hour)) || !h.isEnded("b") {
		t.Fatal("a member known ended was checked again")
	}
	for i := range 10 * maxHintMemory {
		id := fmt.Sprint("m", i)
		h.begin(id, now.Add(time.Duration(i)))
		h.end(id, now.Add(time.Duration(i)))
	}
	if len(h.checked) > maxHintMemory || len(h.ended) > maxHintMemory {
		t.Fatalf("remembers %d checked and %d ended members, bound %d", len(h.checked), len(h.ended), maxHintMemory)
	}
}
