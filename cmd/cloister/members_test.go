package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
)

func TestMembersPrintsTheView(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node, err := cloister.Start(ctx, cloister.LocalConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer node.Stop(ctx)
	srv := httptest.NewServer(node.Handler())
	defer srv.Close()
	var out bytes.Buffer
	if err := runMembers(ctx, []string{"--addr", strings.TrimPrefix(srv.URL, "http://")}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{node.Self().Name + " is ready", "(self)", "NAME"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	if err := runMembers(ctx, []string{"--addr", "127.0.0.1:1"}, &out); err == nil {
		t.Fatal("members against a closed port succeeded")
	}
}
