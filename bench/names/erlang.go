package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

//go:embed erlang.escript
var escript []byte

// measureErlang runs erlang.escript on n nodes and returns its metrics.
// Every Erlang process it starts (the escript's node, its peers, and an
// epmd of its own on a free loopback port) is gone when it returns.
func measureErlang(ctx context.Context, n, seq, conc, workers int) (map[string]float64, error) {
	dir, err := os.MkdirTemp("", "names-bench-erl")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "bench.escript")
	if err := os.WriteFile(script, escript, 0o644); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "ERL_EPMD_ADDRESS=127.0.0.1", "ERL_EPMD_PORT="+strconv.Itoa(port))
	defer func() {
		kill := exec.Command("epmd", "-port", strconv.Itoa(port), "-kill")
		kill.Env = env
		_ = kill.Run()
	}()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "escript", script, strconv.Itoa(n), strconv.Itoa(seq), strconv.Itoa(conc), strconv.Itoa(workers))
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its peers too, on cancel
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("escript on %d nodes: %w: %s", n, err, stderr.String())
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(outb))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			out[k] = f
		}
	}
	return out, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
