package memnet_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/cloister-go/cloister/cloistertest/memnet"
	"github.com/cloister-go/cloister/transport"
)

// Two hosts exchange a datagram and a stream, are partitioned, and heal:
// the datagram sent across the partition is lost, the stream bytes are
// held and arrive after Heal.
func Example() {
	n := memnet.New(1)
	defer n.Close()

	a, _ := n.Listen(netip.MustParseAddrPort("198.18.0.1:7946"))
	b, _ := n.Listen(netip.MustParseAddrPort("198.18.0.2:7946"))

	a.WritePacket([]byte("ping"), b.Addr())
	p := <-b.Packets()
	fmt.Printf("%s from %s\n", p.Data, p.From)

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	client, _ := a.Dial(ctx, b.Addr(), transport.KindCall)
	server := <-b.Streams(transport.KindCall)

	n.Partition([]netip.AddrPort{a.Addr()}, []netip.AddrPort{b.Addr()})
	a.WritePacket([]byte("lost"), b.Addr())
	client.Write([]byte("held"))

	// Dialling across the partition hangs until the context ends.
	short, cancelShort := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancelShort()
	_, err := a.Dial(short, b.Addr(), transport.KindCall)
	fmt.Println("dial across the partition:", errors.Is(err, context.DeadlineExceeded))

	n.Heal()
	buf := make([]byte, 4)
	server.SetReadDeadline(time.Now().Add(time.Second))
	io.ReadFull(server, buf)
	fmt.Printf("after Heal: %s\n", buf)

	client.Close()
	_, err = server.Read(buf)
	fmt.Println("then:", err)
	fmt.Printf("datagrams dropped by the partition: %d\n", n.Stats().DroppedFault)
	// Output:
	// ping from 198.18.0.1:7946
	// dial across the partition: true
	// after Heal: held
	// then: EOF
	// datagrams dropped by the partition: 1
}
