package leader_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/leader"
)

// A singleton runs on the leader only; a single node leads its own
// cluster, after the takeover margin.
func ExampleService_Singleton() {
	svc := leader.New(leader.Config{})
	started := make(chan leader.Term, 1)
	_ = svc.Singleton("report", func(ctx context.Context, term leader.Term) error {
		started <- term
		<-ctx.Done() // run until leadership ends
		return nil
	})
	cfg := cloister.LocalConfig()
	cfg.Services = []cloister.Service{svc}
	node, err := cloister.Start(context.Background(), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Stop(context.Background())
	term := <-started
	m, _, _ := svc.Leader()
	fmt.Println("leader is this node:", m.ID == node.Self().ID, "term:", term)
	// Output: leader is this node: true term: 1
}

// A fence admits terms that do not go back.
func ExampleFence() {
	var f leader.Fence
	fmt.Println(f.Admit(3))
	fmt.Println(f.Admit(5))
	err := f.Admit(4)
	fmt.Println(errors.Is(err, leader.ErrStaleTerm), err)
	// Output:
	// <nil>
	// <nil>
	// true leader: stale term 4: term 5 already seen
}

// The envelope of a fenced call: the term, then the body.
func ExampleWrap() {
	body := leader.Wrap(7, []byte("set x=1"))
	term, payload, err := leader.Unwrap(body)
	fmt.Println(term, string(payload), err)
	// Output: 7 set x=1 <nil>
}
