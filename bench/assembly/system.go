package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// event is what one process reported.
type event struct {
	// "joined" (sees one more member), "ready" (sees all N, once),
	// "failed", "left", "gone" (memberlist: left or failed), "replaced"
	// (cloister: a new incarnation), "up" (sees a member again after it
	// went down), "whole" and "partial" (cloister: a state change to Ready
	// on the full view of N, and any other state change).
	kind    string
	subject int // index of the member the event is about
}

// system knows how to start one kind of member and read its output.
type system struct {
	name  string
	start func(b *bench, i int, n int, addrs []string) *exec.Cmd
	parse func(line string, st *parseState) []event
	leave syscall.Signal // graceful leave
}

// parseState is per observing process.
type parseState struct {
	n      int
	seen   map[int]bool
	toIdx  map[string]int // member name -> index
	readyd bool
}

func (st *parseState) join(i int) []event {
	if i < 0 {
		return nil
	}
	if st.seen[i] {
		return []event{{kind: "up", subject: i}} // back after a failure or leave
	}
	st.seen[i] = true
	evs := []event{{kind: "joined", subject: i}}
	if len(st.seen) == st.n && !st.readyd {
		st.readyd = true
		evs = append(evs, event{kind: "ready"})
	}
	return evs
}

func cloisterSystem(profile string) system {
	return system{
		name:  "cloister-" + profile,
		leave: syscall.SIGTERM,
		start: func(b *bench, i, n int, addrs []string) *exec.Cmd {
			cmd := exec.Command(b.cloisterBin, "agent", "--json", "--bind", addrs[i])
			cmd.Env = append(os.Environ(),
				"CLOISTER_APP=bench", "CLOISTER_SENTRY="+strings.Join(addrs, ","),
				"CLOISTER_CONSENSUS="+strconv.Itoa(n), "CLOISTER_SECRET=bench-secret-0123456789",
				"CLOISTER_DETECTION="+profile)
			return cmd
		},
		parse: func(line string, st *parseState) []event {
			var ev struct {
				Event, To, Member, Reason string
				Members                   int
			}
			if json.Unmarshal([]byte(line), &ev) != nil {
				return nil
			}
			switch ev.Event {
			case "state":
				if ev.To != "ready" || ev.Members != st.n {
					return []event{{kind: "partial"}}
				}
				evs := []event{{kind: "whole"}}
				if !st.readyd {
					st.readyd = true
					evs = append(evs, event{kind: "ready"})
				}
				return evs
			case "down":
				return []event{{kind: ev.Reason, subject: st.index(strings.TrimPrefix(ev.Member, "bench@"))}}
			case "up":
				// Ready comes from the state event; the first "up" of
				// a member is its join (counted in a timeout's report).
				i := st.index(strings.TrimPrefix(ev.Member, "bench@"))
				if i >= 0 && !st.seen[i] {
					st.seen[i] = true
					return []event{{kind: "joined", subject: i}}
				}
				return []event{{kind: "up", subject: i}}
			}
			return nil
		},
	}
}

var serfEvent = regexp.MustCompile(`serf: EventMember(Join|Leave|Failed): (n\d+) `)

func serfSystem(profile string) system {
	return system{
		name:  "serf-" + profile,
		leave: syscall.SIGINT, // serf leaves gracefully on SIGINT, not on SIGTERM
		start: func(b *bench, i, n int, addrs []string) *exec.Cmd {
			args := []string{"agent", "-node", fmt.Sprintf("n%d", i), "-bind", addrs[i],
				"-rpc-addr", b.rpcAddrs[i], "-profile", profile, "-log-level", "info"}
			if i > 0 {
				args = append(args, "-retry-join", addrs[0], "-retry-interval", "100ms")
			}
			return exec.Command("serf", args...)
		},
		parse: func(line string, st *parseState) []event {
			m := serfEvent.FindStringSubmatch(line)
			if m == nil {
				return nil
			}
			i, _ := strconv.Atoi(strings.TrimPrefix(m[2], "n"))
			switch m[1] {
			case "Join":
				return st.join(i)
			case "Leave":
				return []event{{kind: "left", subject: i}}
			}
			return []event{{kind: "failed", subject: i}}
		},
	}
}

func memberlistSystem() system {
	return system{
		name:  "memberlist-lan",
		leave: syscall.SIGTERM,
		start: func(b *bench, i, n int, addrs []string) *exec.Cmd {
			args := []string{"mlnode", "-name", fmt.Sprintf("n%d", i), "-bind", addrs[i]}
			if i > 0 {
				args = append(args, "-join", addrs[0])
			}
			return exec.Command(b.self, args...)
		},
		parse: func(line string, st *parseState) []event {
			f := strings.Fields(line)
			if len(f) != 2 {
				return nil
			}
			i, err := strconv.Atoi(strings.TrimPrefix(f[1], "n"))
			if err != nil {
				return nil
			}
			switch f[0] {
			case "JOIN":
				return st.join(i)
			case "LEAVE": // memberlist's delegate cannot tell a leave from a failure
				return []event{{kind: "gone", subject: i}}
			}
			return nil
		},
	}
}

func (st *parseState) index(addr string) int {
	if i, ok := st.toIdx[addr]; ok {
		return i
	}
	return -1
}
