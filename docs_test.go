package cloister

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue #12, item 13: the docs name the API as it is. Each phrase below
// was once in them and is wrong.
func TestDocsHaveNoStaleClaims(t *testing.T) {
	stale := map[string]string{
		"DetectionBudget(N)":                         "the method is Detection.Budget",
		"internal/memnet":                            "the in-memory network is cloistertest/memnet",
		"later, node-to-node calls":                  "calls exist (package rpc)",
		"side-by-side benchmarks (separate modules)": "bench/assembly is a package of the main module",
		"node.Multicast(\"":                          "Multicast takes a ctx first",
		"node.Cast(member":                           "Cast takes a ctx first",
	}
	files, _ := filepath.Glob("*.go")
	md, _ := filepath.Glob("docs/*.md")
	files = append(append(files, md...), "README.md")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for phrase, why := range stale {
			if strings.Contains(string(b), phrase) {
				t.Errorf("%s says %q: %s", f, phrase, why)
			}
		}
	}
	// Aliases show no methods in go doc: their declarations list them.
	for f, want := range map[string][]string{
		"state.go": {"String returns", "String returns the reason"},
		"calls.go": {"Codec's methods", "Error returns"},
	} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s does not document the alias's methods (%q)", f, w)
			}
		}
	}
}
