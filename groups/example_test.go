package groups_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/groups"
)

// Join a group, list its members without a round trip, publish to them.
func Example() {
	g := groups.New(groups.Options{})
	cfg := cloister.LocalConfig()
	cfg.Services = []cloister.Service{g}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node, err := cloister.Start(ctx, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Stop(ctx)

	got := make(chan string, 2)
	for _, user := range []string{"ada", "bob"} {
		_ = g.Join("lobby", user, func(_ context.Context, _ cloister.Member, msg []byte) ([]byte, error) {
			got <- user + " got " + string(msg)
			return nil, nil
		})
	}
	for _, m := range g.Members("lobby") {
		fmt.Println(m.Key, m.Count)
	}
	_ = g.Publish(ctx, "lobby", []byte("hi"))
	a, b := <-got, <-got
	if a > b {
		a, b = b, a
	}
	fmt.Println(a)
	fmt.Println(b)
	// Output:
	// ada 1
	// bob 1
	// ada got hi
	// bob got hi
}
