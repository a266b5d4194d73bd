package main

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
)

// buildAgent builds the cloister command to path from the module of the
// working directory, stamped with its commit (-buildvcs=true: a build by
// import path is not stamped by default), or unstamped outside a
// repository.
func buildAgent(path string) error {
	var err error
	for _, vcs := range []string{"-buildvcs=true", "-buildvcs=false"} {
		build := exec.Command("go", "build", vcs, "-o", path, "github.com/cloister-go/cloister/cmd/cloister")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err = build.Run(); err == nil {
			return nil
		}
	}
	return fmt.Errorf("building cloister: %w", err)
}

// builtFrom describes the source of the binary at path: the working
// directory it was built in, and the commit and whether the tree had
// uncommitted changes, as the Go toolchain stamped them.
func builtFrom(path string) string {
	wd, _ := os.Getwd()
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("built in %s (no build info: %v)", wd, err)
	}
	rev, modified := "unknown commit", ""
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 12:
			rev = s.Value[:12]
		case s.Key == "vcs.modified" && s.Value == "true":
			modified = " with uncommitted changes"
		}
	}
	return fmt.Sprintf("built in %s from %s%s", wd, rev, modified)
}
