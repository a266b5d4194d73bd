package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
	"github.com/cloister-go/cloister/registry"
)

// Three nodes: users log in on different nodes, message each other by
// name across nodes, and broadcast to all; a name is unique; a user whose
// node dies can log in again elsewhere.
func TestChatAcrossThreeNodes(t *testing.T) {
	var mu sync.Mutex
	chats := map[int]*Chat{}
	c := cloistertest.New(t, 3, cloistertest.WithMemNet(11), cloistertest.WithConfig(func(i int, cfg *cloister.Config) {
		ch := New()
		mu.Lock()
		chats[i] = ch
		mu.Unlock()
		cfg.Services = append(cfg.Services, ch.Services()...)
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	users := []string{"ada", "bob", "cy"}
	for i, u := range users {
		if err := chats[i].Login(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := chats[2].Login(ctx, "ada"); !errors.Is(err, registry.ErrNameTaken) {
		t.Fatalf("second login of ada: %v", err)
	}
	c.WaitFor("every user everywhere", func() bool {
		for i := range 3 {
			if len(chats[i].Users()) != 3 {
				return false
			}
			// Each name travels on its holder's own stream, so every
			// node must have heard each one.
			for _, u := range users {
				if _, ok := chats[i].Names.Lookup("user:" + u); !ok {
					return false
				}
			}
		}
		return true
	})
	if err := chats[2].Send(ctx, "cy", "ada", "hello ada"); err != nil {
		t.Fatal(err)
	}
	if in, _ := chats[0].Inbox("ada"); len(in) != 1 || in[0].Text != "hello ada" || in[0].From != "cy" {
		t.Fatalf("ada's inbox: %+v", in)
	}
	if err := chats[1].Send(ctx, "bob", "nobody", "?"); !errors.Is(err, registry.ErrNoSuchName) {
		t.Fatalf("send to nobody: %v", err)
	}
	// Over HTTP, on node 1.
	srv := httptest.NewServer(handler(chats[1], c.Node(1).Handler()))
	defer srv.Close()
	resp, err := http.PostForm(srv.URL+"/broadcast", url.Values{"from": {"bob"}, "text": {"hi all"}})
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("broadcast: %v %v", resp, err)
	}
	resp.Body.Close()
	c.WaitFor("the broadcast in every inbox", func() bool {
		for i, u := range users {
			in, _ := chats[i].Inbox(u)
			if !slices.ContainsFunc(in, func(m Message) bool { return m.Text == "hi all" && m.From == "bob" }) {
				return false
			}
		}
		return true
	})
	// bob's node dies; once that is agreed, bob logs in on node 0.
	c.Kill(1)
	c.WaitFor("bob gone", func() bool {
		_, ok := chats[0].Names.Lookup("user:bob")
		return !ok && len(chats[2].Users()) == 2
	})
	if err := chats[0].Login(ctx, "bob"); err != nil {
		t.Fatalf("bob again on node 0: %v", err)
	}
	c.WaitFor("bob known on node 2", func() bool { _, ok := chats[2].Names.Lookup("user:bob"); return ok })
	if err := chats[2].Send(ctx, "cy", "bob", "welcome back"); err != nil {
		t.Fatal(err)
	}
	if in, _ := chats[0].Inbox("bob"); len(in) != 1 || in[0].Text != "welcome back" {
		t.Fatalf("bob's inbox: %+v", in)
	}
}
