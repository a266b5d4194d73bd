package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The demo's whole tour, with real agent processes (this test binary,
// re-executed as the CLI).
func TestDemoTour(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Setenv(envRunAsCLI, "1")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out syncBuffer
	if err := runDemo(ctx, []string{"-n", "3", "-timeout", "20s"}, &out); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"== cluster assembled in",
		"member down  demo@", "(failed)",
		"== survivors agreed on a new view",
		"== node3 back and agreed in",
		"(left)",
		"who owns what", "<- moved from",
		"the rest agreed",
		// Issue #12, item 14: it says where each node is, that it
		// restarts the leaver, and which keys moved (or that none did).
		"node1 is demo@127.0.0.1:", "/cluster at http://127.0.0.1:", "dashboard at http://127.0.0.1:",
		"== restarting node2 so that the tour ends with every node",
		"keys that moved:",
		"seen as left by the others",
		"== done",
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("demo output lacks %q:\n%s", want, text)
		}
	}
	t.Log(text)
}
