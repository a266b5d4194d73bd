package main

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// cleanups undoes what the bench set up on this host (its temporary
// directory, its nftables table), in reverse order, at the end of a run or
// when the bench is interrupted. The agents need no cleanup: each dies
// with the bench (Pdeathsig).
type cleanups struct {
	mu    sync.Mutex
	funcs []func()
	stop  chan struct{}
}

// newCleanups runs the cleanups and exits on SIGINT or SIGTERM, until done.
func newCleanups() *cleanups {
	c := &cleanups{stop: make(chan struct{})}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case s := <-sig:
			fmt.Fprintf(os.Stderr, "assembly: %v: cleaning up\n", s)
			c.run()
			os.Exit(130)
		case <-c.stop:
			signal.Stop(sig)
		}
	}()
	return c
}

func (c *cleanups) add(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.funcs = append(c.funcs, f)
}

func (c *cleanups) run() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.funcs) - 1; i >= 0; i-- {
		c.funcs[i]()
	}
	c.funcs = nil
}

// done runs the cleanups at the normal end of a run.
func (c *cleanups) done() {
	close(c.stop)
	c.run()
}
