// Command leader is the leader example of the seeds: one leader at a
// time; when the leader crashes another takes over; the leader's term is
// a fencing token that makes members reject a former leader's late
// writes.
//
// Every node runs the leader service and a "ticker" singleton, which runs
// on the leader only and appends a line to every member's ledger every
// half second, with its term. Run three on one machine:
//
//	export CLOISTER_SECRET=example-secret-0123456789 CLOISTER_DETECTION=local CLOISTER_CONSENSUS=2
//	export CLOISTER_SENTRY=127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003
//	CLOISTER_BIND=127.0.0.1:7001 go run ./examples/leader &
//	CLOISTER_BIND=127.0.0.1:7002 go run ./examples/leader &
//	CLOISTER_BIND=127.0.0.1:7003 go run ./examples/leader &
//
// One of them logs "singleton started: this node leads". Stop it with
// kill -STOP PID (a pause) or kill -9 PID (a crash): within about two
// seconds another logs the same at a higher term. After kill -CONT, the
// paused one logs "singleton stopped" and "late write rejected": its
// lease ran out while it was paused, and the members had seen the newer
// term. kill %1 %2 %3 stops them. Meanwhile
//
//	go run ./cmd/cloister top --sentry 127.0.0.1:7001 --bind 127.0.0.1:0
//
// shows the members, the leader, the term and the calls per second, from
// a hidden node that counts for nothing.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cloister-go/cloister"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, log); err != nil {
		log.Error("leader example", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	cfg, err := cloister.ConfigFromEnv()
	if err != nil {
		return err
	}
	app := NewApp(log)
	cfg.Services = append(cfg.Services, app.Services()...)
	node, err := cloister.Launch(ctx, cfg)
	if err != nil {
		return err
	}
	changes, unsubscribe := app.Leader.Subscribe(16)
	defer unsubscribe()
	for {
		select {
		case c, ok := <-changes:
			if ok {
				log.Info(c.String())
			}
		case <-ctx.Done():
			shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return node.Stop(shutdown) // the leader service hands over first
		}
	}
}
