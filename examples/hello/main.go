// Command hello is the smallest cloister application: it joins the cluster
// described by the CLOISTER_* environment, logs every state change, and
// serves /healthz, /readyz and /cluster on CLOISTER_HTTP (or HELLO_HTTP;
// default :8080).
//
//	go run ./examples/hello                       # a single-node cluster
//	go run ./cmd/cloister run -n 3 -- go run ./examples/hello
//	go run ./cmd/cloister secret > examples/compose/cloister.secret
//	docker compose -f examples/compose/docker-compose.yml up --scale app=3
package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cloister-go/cloister"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	cfg, err := cloister.ConfigFromEnv()
	if err != nil {
		return err
	}
	cfg.Listeners = append(cfg.Listeners, cloister.ListenerFunc(func(from, to cloister.State, s cloister.Snapshot) {
		log.Printf("cluster %s -> %s: %d members, view %016x", from, to, len(s.View.Members), s.View.ID)
	}))
	node, err := cloister.Launch(ctx, cfg)
	if err != nil {
		return err
	}
	addr := os.Getenv("CLOISTER_HTTP") // set by cloister run and by cloister init's files
	if addr == "" {
		addr = os.Getenv("HELLO_HTTP")
	}
	if addr == "" {
		addr = ":8080"
	}
	srv := &http.Server{Addr: addr, Handler: node.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("http: %v", err)
		}
	}()
	if err := node.WaitReady(ctx); err != nil {
		log.Printf("%v", err)
	} else {
		log.Printf("ready as %s", node.Self().Name)
	}
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	return node.Stop(shutdown)
}
