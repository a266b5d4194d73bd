package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/discovery"
	"github.com/cloister-go/cloister/leader"
)

// runChild runs one node with the leader service and a singleton that
// prints "SINGLETON" when it starts, until SIGTERM or SIGKILL.
func runChild(bind, sentry string, n int, detection string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg := cloister.LocalConfig()
	if d, ok := cloister.DetectionByName(detection); ok {
		cfg.Detection = d
	}
	cfg.App = "leaderbench"
	cfg.Bind = bind
	cfg.Consensus = n
	cfg.Secret = cloister.Secret("leaderbench-secret-0123456789")
	p, err := discovery.Parse(strings.TrimSpace(sentry), 0)
	if err != nil {
		return err
	}
	cfg.Sentry = p
	svc := leader.New(leader.Config{})
	if err := svc.Singleton("bench", func(ctx context.Context, term leader.Term) error {
		fmt.Printf("SINGLETON %d\n", term)
		<-ctx.Done()
		return nil
	}); err != nil {
		return err
	}
	cfg.Services = []cloister.Service{svc}
	node, err := cloister.Launch(ctx, cfg)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return node.Stop(context.Background())
}
