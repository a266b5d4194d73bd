package ring_test

import (
	"errors"
	"fmt"

	"github.com/cloister-go/cloister/ring"
)

func Example() {
	r, err := ring.New([]ring.Member{{ID: "node-a"}, {ID: "node-b"}, {ID: "node-c", Weight: 2}})
	if err != nil {
		panic(err)
	}
	owner, err := r.OwnerString("user:42")
	if err != nil {
		panic(err)
	}
	// Every node building a ring from the same members gets the same answer.
	again, _ := ring.New([]ring.Member{{ID: "node-c", Weight: 2}, {ID: "node-b"}, {ID: "node-a"}})
	same, _ := again.OwnerString("user:42")
	fmt.Println(owner.ID, same.ID, r.Checksum() == again.Checksum())
	// Output: node-c node-c true
}

func ExampleRing_OwnersNString() {
	r, _ := ring.New([]ring.Member{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}})
	replicas, _ := r.OwnersNString("invoice:1007", 3)
	fmt.Println(replicas[0].ID, replicas[1].ID, replicas[2].ID)

	// Asking for more owners than exist returns them all, with ErrTooFew.
	all, err := r.OwnersNString("invoice:1007", 6)
	fmt.Println(len(all), errors.Is(err, ring.ErrTooFew))
	// Output:
	// a d b
	// 4 true
}

func ExampleDiff() {
	old, _ := ring.New([]ring.Member{{ID: "a"}, {ID: "b"}}, ring.WithEpoch(1))
	new, _ := ring.New([]ring.Member{{ID: "a"}, {ID: "b"}, {ID: "c"}}, ring.WithEpoch(2))

	// "c" joins: it gains about a third of the slots, from both others,
	// and loses none.
	h, _ := ring.Diff(old, new, "c")
	from := map[string]int{}
	for _, t := range h.Gained {
		from[t.From] += t.Len()
	}
	pct := func(n int) float64 { return 100 * float64(n) / float64(new.Slots()) }
	fmt.Printf("epoch %d -> %d: c gained %.1f%% from a, %.1f%% from b; lost %d ranges\n",
		old.Epoch(), new.Epoch(), pct(from["a"]), pct(from["b"]), len(h.Lost))

	// "a" only loses, and only to "c".
	ha, _ := ring.Diff(old, new, "a")
	toC := true
	for _, t := range ha.Lost {
		toC = toC && t.To == "c"
	}
	fmt.Println("a gained", len(ha.Gained), "ranges; every loss goes to c:", toC)

	// Per key: "c" must fetch the keys it gained.
	for _, key := range []string{"k1", "k2", "k3", "k4"} {
		if h.GainedKey([]byte(key)) {
			fmt.Println("fetch", key)
		}
	}
	// Output:
	// epoch 1 -> 2: c gained 16.8% from a, 17.2% from b; lost 0 ranges
	// a gained 0 ranges; every loss goes to c: true
	// fetch k3
	// fetch k4
}
