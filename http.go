package cloister

import (
	"encoding/json"
	"net/http"
)

// Handler returns the node's HTTP endpoints, for the application to mount
// on a mux or serve on its own address:
//
//	GET /healthz  200 while the node runs (a liveness probe), 503 once stopped
//	GET /readyz   200 only when Ready (a readiness probe), else 503
//	GET /cluster  JSON Snapshot: self, state, view and members
//
// It never touches http.DefaultServeMux.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if n.State() == Stopped {
			http.Error(w, "stopped", http.StatusServiceUnavailable)
			return
		}
		writeText(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s := n.State(); s != Ready {
			http.Error(w, s.String(), http.StatusServiceUnavailable)
			return
		}
		writeText(w, http.StatusOK, "ready")
	})
	mux.HandleFunc("GET /cluster", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(n.Snapshot())
	})
	return mux
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body + "\n"))
}
