package oneproc

import (
	"os"
	"runtime"
)

func init() {
	if n := Procs(os.Args[1:], os.Getenv("GOMAXPROCS")); n > 0 {
		runtime.GOMAXPROCS(n)
	}
}

// Procs is the GOMAXPROCS for a process of the cloister command started
// with args, or 0 to keep Go's choice: an agent runs on one P unless the
// GOMAXPROCS variable (env) says otherwise. Its work is bursts of small
// packets, each handled by a chain of goroutines; with several Ps each
// hand-off can wake another thread, and that cost more CPU than the work:
// 50 agents assembling on two cores used 28-36% less CPU and were all
// Ready 15-17% sooner on one P (two A/B measurements, docs/benchmarks.md).
func Procs(args []string, env string) int {
	if len(args) == 0 || args[0] != "agent" || env != "" {
		return 0
	}
	return 1
}
