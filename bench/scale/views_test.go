package main

import (
	"testing"

	"github.com/cloister-go/cloister"
)

// The view agreed before a kill, reported again by a survivor that goes
// from Ready to Rehashing on it, is not counted as a view change.
func TestViewsIgnoresTheViewBeforeTheKill(t *testing.T) {
	v := &views{ids: map[cloister.ViewID]struct{}{}}
	before, after := cloister.ViewID(1), cloister.ViewID(2)
	v.add(before, 10)
	if got := v.take(); got != 1 {
		t.Fatalf("start: %d views, want 1", got)
	}
	v.ignore(before)
	v.add(before, 10)
	v.add(after, 9)
	v.add(after, 9)
	if got := v.take(); got != 1 {
		t.Fatalf("after the kill: %d views, want 1 (the view before it reported again is no change)", got)
	}
}
