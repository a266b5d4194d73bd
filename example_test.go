package cloister_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/cloister-go/cloister"
)

// A node with no sentry is a single-node cluster, Ready at once.
func ExampleStart() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node, err := cloister.Start(ctx, cloister.LocalConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Stop(ctx)
	fmt.Println(node.State(), len(node.Members()))
	// Output: ready 1
}

// A listener hears every state change, in order.
func ExampleListenerFunc() {
	changes := make(chan string, 10)
	cfg := cloister.LocalConfig()
	cfg.Listeners = []cloister.Listener{cloister.ListenerFunc(func(from, to cloister.State, s cloister.Snapshot) {
		changes <- fmt.Sprintf("%s -> %s (%d members)", from, to, len(s.View.Members))
	})}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node, err := cloister.Start(ctx, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	node.Stop(ctx)
	for range 4 {
		fmt.Println(<-changes)
	}
	// Output:
	// down -> assembling (1 members)
	// assembling -> ready (1 members)
	// ready -> stopping (1 members)
	// stopping -> stopped (1 members)
}

// Validate names the field that is wrong.
func ExampleConfig_Validate() {
	cfg := cloister.DefaultConfig()
	cfg.Consensus = 0
	fmt.Println(cfg.Validate())
	// Output: cloister: invalid config: Consensus: must be at least 1, got 0
}

// Handler serves liveness and readiness probes and the member list.
func ExampleNode_Handler() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node, err := cloister.Start(ctx, cloister.LocalConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Stop(ctx)
	srv := httptest.NewServer(node.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/readyz")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output: 200
}
