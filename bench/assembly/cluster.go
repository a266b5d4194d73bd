package main

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// stamped is an event with the process that reported it and when it was read.
type stamped struct {
	event
	observer int
	at       time.Time
}

// cluster is one running set of N processes of one system.
type cluster struct {
	sys    system
	n      int
	addrs  []string
	cmds   []*exec.Cmd
	events chan stamped
	wg     sync.WaitGroup
	start  time.Time
}

// freeAddr returns a loopback address free for both TCP and UDP.
func freeAddr() (string, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := l.Addr().String()
		u, uerr := net.ListenPacket("udp", addr)
		l.Close()
		if uerr == nil {
			u.Close()
			return addr, nil
		}
	}
	return "", fmt.Errorf("no free port")
}

func (b *bench) launch(sys system, n int) (*cluster, error) {
	c := &cluster{sys: sys, n: n, events: make(chan stamped, 64*n*n)}
	b.rpcAddrs = nil
	for range n {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		r, err := freeAddr()
		if err != nil {
			return nil, err
		}
		c.addrs = append(c.addrs, a)
		b.rpcAddrs = append(b.rpcAddrs, r)
	}
	toIdx := map[string]int{}
	for i, a := range c.addrs {
		toIdx[a] = i
	}
	c.start = time.Now()
	for i := range n {
		cmd := sys.start(b, i, n, c.addrs)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		out, err := cmd.StdoutPipe()
		if err != nil {
			c.stop()
			return nil, err
		}
		cmd.Stderr = cmd.Stdout
		if err := cmd.Start(); err != nil {
			c.stop()
			return nil, fmt.Errorf("%s node %d: %w", sys.name, i, err)
		}
		c.cmds = append(c.cmds, cmd)
		st := &parseState{n: n, seen: map[int]bool{}, toIdx: toIdx}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				now := time.Now()
				for _, e := range sys.parse(sc.Text(), st) {
					select {
					case c.events <- stamped{event: e, observer: i, at: now}:
					default: // the channel is sized for every event of a run
					}
				}
			}
		}()
	}
	return c, nil
}

func (c *cluster) signal(i int, s syscall.Signal) { _ = c.cmds[i].Process.Signal(s) }

// stop kills every process group and waits for the readers.
func (c *cluster) stop() {
	for _, cmd := range c.cmds {
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT)
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	for _, cmd := range c.cmds {
		_ = cmd.Wait()
	}
	c.wg.Wait()
}

// waitFor reads events until done says so or the timeout passes; every
// event read is also passed to seen (for false-positive counting).
func (c *cluster) waitFor(timeout time.Duration, seen func(stamped), done func(stamped) bool) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case e := <-c.events:
			seen(e)
			if done(e) {
				return true
			}
		case <-t.C:
			return false
		}
	}
}
