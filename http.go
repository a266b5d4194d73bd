package cloister

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// Handler returns the node's HTTP endpoints, for the application to mount
// on a mux or serve on its own address:
//
//	GET /healthz  200 while the node runs (a liveness probe), 503 once stopped
//	GET /readyz   200 when Ready, and while a node that has been Ready and
//	              keeps quorum rehashes a view change (a readiness probe);
//	              503 while assembling, without quorum, and once stopping
//	GET /cluster  JSON Snapshot: self, state, view and members
//	GET /whois?key=K[&ring=R][&n=N]
//	              JSON owner of K (and N-1 replicas) on ring R (default ring);
//	              503 with the error when the node is not Ready, 404 for an
//	              unknown ring, 400 without a key
//	GET /metrics  Prometheus metrics, when Config.Metrics is set
//	GET /dashboard/
//	              a live, read-only dashboard, when Config.Metrics or
//	              Config.Dashboard is set
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
		if s := n.Snapshot(); !s.Quorate {
			http.Error(w, s.StateName, http.StatusServiceUnavailable)
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
	mux.HandleFunc("GET /whois", n.serveWhois)
	n.mountTelemetry(mux) // /metrics, /dashboard/ (metrics.go)
	return mux
}

// WhoisAnswer is the JSON body of GET /whois.
type WhoisAnswer struct {
	Key    string `json:"key"`
	Ring   string `json:"ring"`
	ViewID ViewID `json:"view_id"`
	// Checksum digests the whole ring (Ring.Checksum): nodes that answer
	// with equal checksums agree on the owner of every key.
	Checksum uint64   `json:"checksum,string"`
	Owner    Member   `json:"owner"`
	Owners   []Member `json:"owners,omitempty"`
	Mine     bool     `json:"mine"`
}

func (n *Node) serveWhois(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	if key == "" {
		http.Error(w, "missing key parameter", http.StatusBadRequest)
		return
	}
	name := r.URL.Query().Get("ring")
	if name == "" {
		name = DefaultRing
	}
	count := 1
	if v := r.URL.Query().Get("n"); v != "" {
		c, err := strconv.Atoi(v)
		if err != nil || c < 1 || c > 1000 {
			http.Error(w, "n must be a number from 1 to 1000", http.StatusBadRequest)
			return
		}
		count = c
	}
	ring := n.Ring(name)
	owners, err := ring.WhoisN(key, count)
	switch {
	case errors.Is(err, ErrUnknownRing):
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	ans := WhoisAnswer{Key: key, Ring: name, ViewID: ring.ViewID(), Checksum: ring.Checksum(), Owner: owners[0], Mine: ring.Mine(key)}
	if count > 1 {
		ans.Owners = owners
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ans)
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body + "\n"))
}
