package telemetry

import (
	"embed"
	"encoding/json"
	"net/http"
	"time"
)

// The dashboard's page, script and style, served as they are: no
// dependency, nothing fetched from elsewhere.
//
//go:embed dashboard
var assets embed.FS

// DashboardState is the JSON the dashboard polls (GET /dashboard/state).
type DashboardState struct {
	Now       time.Time         `json:"now"`
	Self      string            `json:"self"`
	State     string            `json:"state"`
	Quorate   bool              `json:"quorate"`
	Term      uint64            `json:"term"`
	ViewID    string            `json:"view_id"`
	Epoch     uint64            `json:"epoch"`
	Consensus int               `json:"consensus"`
	Members   []DashboardMember `json:"members"`
	// Ring is the default ring, when the node is Ready.
	Ring     *RingPicture    `json:"ring,omitempty"`
	Timeline []Entry         `json:"timeline"`
	Handlers []HandlerCounts `json:"handlers"`
}

// DashboardMember is one member of the view.
type DashboardMember struct {
	Name   string `json:"name"`
	ID     string `json:"id"`
	Addr   string `json:"addr"`
	State  string `json:"state"`
	Term   uint64 `json:"term"`
	ViewID string `json:"view_id"`
	Self   bool   `json:"self"`
	// Agrees: the member advertises this node's view ID.
	Agrees bool `json:"agrees"`
	// Share is the fraction of the default ring's slots it owns (0 when
	// the ring cannot answer).
	Share float64 `json:"share"`
}

// RingPicture is a ring's ownership, for drawing.
type RingPicture struct {
	Name  string `json:"name"`
	Slots int    `json:"slots"`
	// Cells divides the slots, in order, into equal arcs; each holds the
	// index in Members of the member owning most of that arc.
	Cells []int `json:"cells"`
}

// DashboardHandler serves the dashboard under prefix ("/dashboard"): the
// page at prefix, its files below it, and state's result as JSON at
// prefix+"/state". It only reads.
func DashboardHandler(prefix string, state func() DashboardState) http.Handler {
	mux := http.NewServeMux()
	file := func(name, ctype string) http.HandlerFunc {
		body, err := assets.ReadFile("dashboard/" + name)
		if err != nil {
			panic(err) // embedded at build time
		}
		return func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Type", ctype)
			h.Set("Cache-Control", "no-cache")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
			_, _ = w.Write(body)
		}
	}
	mux.HandleFunc("GET "+prefix, file("index.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET "+prefix+"/{$}", file("index.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET "+prefix+"/app.js", file("app.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET "+prefix+"/style.css", file("style.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET "+prefix+"/state", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(state())
	})
	return mux
}
