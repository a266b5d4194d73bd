package cloister

import (
	"os"
	"regexp"
	"testing"
)

// TestGoDirectiveHasNoPatch: a go directive with a patch release (go
// 1.26.8) forces every module that imports cloister to that patch release.
// 1.26.0, the first release of 1.26, forces nothing more than 1.26 (and
// prometheus/client_golang, which package metrics uses, requires it).
func TestGoDirectiveHasNoPatch(t *testing.T) {
	// (The bench modules are never imported; grpc makes rpcbench's 1.26.0.)
	patch := regexp.MustCompile(`(?m)^go \d+\.\d+\.[1-9]\d*\s*$`)
	for _, f := range []string{"go.mod"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := patch.Find(b); m != nil {
			t.Errorf("%s: %q pins users to a patch release; write the minor version only", f, m)
		}
	}
}
