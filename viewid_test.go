package cloister_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cloister-go/cloister/cloistertest"
)

// Issue #12, item 10: the view ID has one textual form everywhere, 16 hex
// digits, and JSON carries it as that string (a number above 2^53 loses
// digits in JavaScript and jq).
func TestViewIDIsSixteenHexDigitsInJSON(t *testing.T) {
	c := cloistertest.New(t, 2)
	n := c.Node(0)
	want := fmt.Sprintf("%016x", n.View().ID)
	if got := fmt.Sprint(n.View().ID); got != want {
		t.Errorf("fmt.Sprint(view ID) = %q, want %q", got, want)
	}
	srv := httptest.NewServer(n.Handler())
	defer srv.Close()
	get := func(path string, v any) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	var cluster struct {
		Self struct {
			ViewID any `json:"view_id"`
		} `json:"self"`
		View struct {
			ID      any `json:"id"`
			Members []struct {
				ViewID any `json:"view_id"`
			} `json:"members"`
		} `json:"view"`
	}
	get("/cluster", &cluster)
	if cluster.View.ID != want || cluster.Self.ViewID != want {
		t.Errorf("/cluster view.id = %#v, self.view_id = %#v, want the string %q", cluster.View.ID, cluster.Self.ViewID, want)
	}
	for _, m := range cluster.View.Members {
		if m.ViewID != want {
			t.Errorf("/cluster member view_id = %#v, want %q", m.ViewID, want)
		}
	}
	var whois struct {
		ViewID any `json:"view_id"`
	}
	get("/whois?key=k", &whois)
	if whois.ViewID != want {
		t.Errorf("/whois view_id = %#v, want %q", whois.ViewID, want)
	}
}

// Node.ViewID is the current view's ID, read without copying the view: the
// same as View().ID on every node of a cluster, and it follows a change.
func TestNodeViewIDFollowsTheView(t *testing.T) {
	c := cloistertest.New(t, 3)
	first := c.Node(0).ViewID()
	for i := range 3 {
		if got, want := c.Node(i).ViewID(), c.Node(i).View().ID; got != want {
			t.Fatalf("node %d: ViewID() = %v, View().ID = %v", i, got, want)
		}
		if got := c.Node(i).ViewID(); got != first {
			t.Fatalf("node %d: ViewID() = %v, node 0's = %v", i, got, first)
		}
	}
	c.Kill(2)
	c.WaitAllReady()
	if got, want := c.Node(0).ViewID(), c.Node(0).View().ID; got != want || got == first {
		t.Fatalf("after a kill: ViewID() = %v, View().ID = %v, before the kill %v", got, want, first)
	}
}
