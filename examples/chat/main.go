// Command chat is the chat of the seeds: users register globally, send to
// a user on any node, and broadcast to everyone. Run three local
// processes with cloister run; each serves the chat and the node's probes
// on its CLOISTER_HTTP:
//
//	go run ./cmd/cloister run -n 3 --keep -- go run ./examples/chat
//	# cloister run prints each instance's HTTP address; with A, B and C for them:
//	curl -X POST 'A/login?user=ada'
//	curl -X POST 'B/login?user=bob'
//	curl -X POST 'C/send?from=ada&to=bob&text=hello'     # from any node
//	curl -X POST 'A/broadcast?from=bob&text=hi+all'
//	curl 'B/inbox?user=bob'                               # bob's messages, on bob's node
//	curl 'C/users'
//
// A single process runs as a one-node cluster: go run ./examples/chat
// (HTTP on CHAT_HTTP, default :8082).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/registry"
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
	chat := New()
	cfg.Services = append(cfg.Services, chat.Services()...)
	node, err := cloister.Launch(ctx, cfg)
	if err != nil {
		return err
	}
	addr := os.Getenv("CLOISTER_HTTP")
	if addr == "" {
		addr = os.Getenv("CHAT_HTTP")
	}
	if addr == "" {
		addr = ":8082"
	}
	srv := &http.Server{Addr: addr, Handler: handler(chat, node.Handler()), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("http: %v", err)
		}
	}()
	if err := node.WaitReady(ctx); err == nil {
		log.Printf("ready as %s, chat on %s", node.Self().Name, addr)
	}
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	return node.Stop(shutdown)
}

// handler serves the chat beside the node's own endpoints (/readyz, ...).
func handler(chat *Chat, node http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", node)
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, chat.Login(r.Context(), r.FormValue("user")))
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, chat.Logout(r.FormValue("user")))
	})
	mux.HandleFunc("POST /send", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, chat.Send(r.Context(), r.FormValue("from"), r.FormValue("to"), r.FormValue("text")))
	})
	mux.HandleFunc("POST /broadcast", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, chat.Broadcast(r.Context(), r.FormValue("from"), r.FormValue("text")))
	})
	mux.HandleFunc("GET /inbox", func(w http.ResponseWriter, r *http.Request) {
		in, ok := chat.Inbox(r.FormValue("user"))
		if !ok {
			http.Error(w, "no such user on this node", http.StatusNotFound)
			return
		}
		reply(w, in, nil)
	})
	mux.HandleFunc("GET /users", func(w http.ResponseWriter, _ *http.Request) { reply(w, chat.Users(), nil) })
	return mux
}

func reply(w http.ResponseWriter, v any, err error) {
	switch {
	case errors.Is(err, registry.ErrNameTaken):
		http.Error(w, err.Error(), http.StatusConflict)
	case errors.Is(err, registry.ErrNoSuchName):
		http.Error(w, err.Error(), http.StatusNotFound)
	case errors.Is(err, cloister.ErrNotReady), errors.Is(err, registry.ErrInvalidName):
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	case v == nil:
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
}
