package main

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// latency makes n sequential round trips with one caller, after a warm-up,
// and returns the median and the 99th percentile.
func latency(t target, n int, msg []byte) (p50, p99 time.Duration, err error) {
	call, err := t.caller()
	if err != nil {
		return 0, 0, err
	}
	for range min(n/10, 2000) {
		if err := call(msg); err != nil {
			return 0, 0, err
		}
	}
	durs := make([]time.Duration, n)
	for i := range durs {
		start := time.Now()
		if err := call(msg); err != nil {
			return 0, 0, err
		}
		durs[i] = time.Since(start)
	}
	slices.Sort(durs)
	return durs[n/2], durs[n*99/100], nil
}

// throughput runs conc callers in a closed loop for d and returns completed
// calls per second.
func throughput(t target, conc int, d time.Duration, msg []byte) (float64, error) {
	calls := make([]func([]byte) error, conc)
	for i := range calls {
		c, err := t.caller()
		if err != nil {
			return 0, err
		}
		calls[i] = c
	}
	var (
		stop    atomic.Bool
		total   atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		firstEr error
		begin   = make(chan struct{})
	)
	for _, call := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			n := int64(0)
			for !stop.Load() {
				if err := call(msg); err != nil {
					errOnce.Do(func() { firstEr = err })
					break
				}
				n++
			}
			total.Add(n)
		}()
	}
	start := time.Now()
	close(begin)
	time.Sleep(d) // the measurement window, not a wait for a condition
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)
	if firstEr != nil {
		return 0, fmt.Errorf("throughput: %w", firstEr)
	}
	return float64(total.Load()) / elapsed.Seconds(), nil
}
