package discovery_test

import (
	"context"
	"fmt"
	"log"

	"github.com/cloister-go/cloister/discovery"
)

func Example() {
	// CLOISTER_SENTRY=10.0.0.2,10.0.0.1:7000,[fd00::1] on a node listening
	// on port 7946. IP entries need no DNS.
	sentry, err := discovery.Parse("10.0.0.2,10.0.0.1:7000,[fd00::1]", 7946)
	if err != nil {
		log.Fatal(err)
	}
	peers, err := sentry.Discover(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range peers {
		fmt.Println(p)
	}
	// Output:
	// 10.0.0.1:7000
	// 10.0.0.2:7946
	// [fd00::1]:7946
}
