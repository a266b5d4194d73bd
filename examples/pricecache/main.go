// Command pricecache is the distributed price cache of the seeds: every
// node holds every price; an update on any node reaches all of them, and a
// node that joins receives the current prices.
//
//	CLOISTER_SENTRY=... CLOISTER_SECRET=... PRICES_HTTP=:8081 go run ./examples/pricecache
//	curl -X POST 'localhost:8081/prices?symbol=BTCUSD&value=67543.21'
//	curl localhost:8081/prices
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
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
	cache := NewCache()
	cfg.Listeners = append(cfg.Listeners, cache)
	node, err := cloister.Launch(ctx, cfg)
	if err != nil {
		return err
	}
	if err := cache.Attach(node); err != nil {
		return err
	}
	addr := os.Getenv("PRICES_HTTP")
	if addr == "" {
		addr = ":8081"
	}
	srv := &http.Server{Addr: addr, Handler: handler(cache), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("http: %v", err)
		}
	}()
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	return node.Stop(shutdown)
}

func handler(c *Cache) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /prices", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(c.All())
	})
	mux.HandleFunc("POST /prices", func(w http.ResponseWriter, r *http.Request) {
		symbol := r.URL.Query().Get("symbol")
		value, err := strconv.ParseFloat(r.URL.Query().Get("value"), 64)
		if symbol == "" || err != nil {
			http.Error(w, "want symbol and a numeric value", http.StatusBadRequest)
			return
		}
		p, err := c.Update(r.Context(), symbol, value)
		if err != nil {
			log.Printf("update reached not every member: %v", err)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p)
	})
	return mux
}
