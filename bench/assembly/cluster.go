package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
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
	// launched is how long starting every process took, from start: no
	// system can have assembled sooner (the processes start one after
	// another, on a machine the earlier ones already keep busy).
	launched time.Duration
}

// freeAddrs returns n distinct loopback addresses, each free for both TCP
// and UDP. Every probe listener stays open until all are chosen: closing
// each at once let the kernel hand the same port out again, and with 100
// addresses (serf's gossip and RPC ports at N=50) two agents then
// collided about one run in five.
func freeAddrs(n int) ([]string, error) {
	var (
		addrs []string
		held  []io.Closer
	)
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for tries := 0; len(addrs) < n; tries++ {
		if tries > 10*n {
			return nil, fmt.Errorf("no %d free ports", n)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		held = append(held, l)
		u, err := net.ListenPacket("udp", l.Addr().String())
		if err != nil {
			continue
		}
		held = append(held, u)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// launch starts n members of sys. place, when not nil, names the cgroup v2
// directory each member starts in ("" for none): the fault phases match a
// member's sockets by it (see faults.go).
func (b *bench) launch(sys system, n int, place []string) (*cluster, error) {
	c := &cluster{sys: sys, n: n, events: make(chan stamped, 64*n*n)}
	all, err := freeAddrs(2 * n)
	if err != nil {
		return nil, err
	}
	c.addrs, b.rpcAddrs = all[:n], all[n:]
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
		var cg *os.File
		if place != nil && place[i] != "" {
			// Started inside it (clone3 CLONE_INTO_CGROUP): a socket
			// belongs to the cgroup of the process that opened it, and
			// stays there when the process moves later.
			if cg, err = os.Open(place[i]); err != nil {
				c.stop()
				return nil, err
			}
			cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(cg.Fd())
		}
		err = cmd.Start()
		if cg != nil {
			cg.Close()
		}
		if err != nil {
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
				evs := sys.parse(sc.Text(), st)
				b.log.line(now, fmt.Sprintf("%s N=%d n%d: %s", sys.name, n, i, sc.Text()))
				for _, e := range evs {
					select {
					case c.events <- stamped{event: e, observer: i, at: now}:
					default: // the channel is sized for every event of a run
					}
				}
			}
		}()
	}
	c.launched = time.Since(c.start)
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

// cpuTime is the user and system CPU time all members have used so far,
// read from /proc (Linux only), in clock ticks of 10 ms.
func (c *cluster) cpuTime() (time.Duration, error) {
	var total time.Duration
	for _, cmd := range c.cmds {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
		if err != nil {
			return 0, err
		}
		// The command name (field 2) is in parentheses and may hold
		// spaces; utime and stime are fields 14 and 15.
		_, rest, ok := strings.Cut(string(b), ") ")
		f := strings.Fields(rest)
		if !ok || len(f) < 13 {
			return 0, fmt.Errorf("unexpected /proc/%d/stat", cmd.Process.Pid)
		}
		for _, field := range f[11:13] {
			ticks, err := strconv.ParseInt(field, 10, 64)
			if err != nil {
				return 0, err
			}
			total += time.Duration(ticks) * 10 * time.Millisecond
		}
	}
	return total, nil
}
