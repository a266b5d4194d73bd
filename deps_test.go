package cloister

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestNoPrometheusWithoutMetrics: the root package and the command link
// neither Prometheus's client nor protobuf, whose package initialisers
// cost every process about 4 ms at start (docs/metrics.md). Only package
// metrics imports them. .ci/layering checks the same.
func TestNoPrometheusWithoutMetrics(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, pkg := range []string{".", "./cmd/cloister"} {
		out, err := exec.CommandContext(ctx, gobin, "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for dep := range strings.FieldsSeq(string(out)) {
			if strings.HasPrefix(dep, "github.com/prometheus/") || strings.HasPrefix(dep, "google.golang.org/protobuf/") {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}
