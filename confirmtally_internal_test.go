package cloister

import "testing"

// When a confirmation's failure stands: at once when the member answers
// no ping while others answer; after confirmRounds rounds cut off; after
// confirmRounds rounds of answers with joins that went through; and only
// after maxConfirmTry rounds of answers when the joins fail (an overloaded
// cluster refusing state exchanges is no evidence against the member).
func TestConfirmTally(t *testing.T) {
	var silent confirmTally
	if !silent.unanswered(false) {
		t.Error("a member that answers no ping while others answer: failure does not stand")
	}

	var cut confirmTally
	for i := 1; i < confirmRounds; i++ {
		if cut.unanswered(true) {
			t.Fatalf("cut off for %d rounds: failure stands, want %d rounds", i, confirmRounds)
		}
	}
	if !cut.unanswered(true) {
		t.Errorf("cut off for %d rounds: failure does not stand", confirmRounds)
	}

	var reached confirmTally
	for i := 1; i < confirmRounds; i++ {
		if reached.answered(true) {
			t.Fatalf("answered and joined %d times: failure stands, want %d", i, confirmRounds)
		}
	}
	if !reached.answered(true) {
		t.Errorf("answered and joined %d times, still dead here: failure does not stand", confirmRounds)
	}

	var overloaded confirmTally
	for i := 1; i < maxConfirmTry; i++ {
		if overloaded.answered(i%4 == 0) { // a join goes through now and then
			t.Fatalf("answered %d times, most joins failing: failure stands, want %d rounds", i, maxConfirmTry)
		}
	}
	if !overloaded.answered(false) {
		t.Errorf("answered %d times: failure does not stand", maxConfirmTry)
	}
}
