package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/hashicorp/memberlist"
)

// mlnode runs one plain memberlist member at DefaultLANConfig (only name
// and address changed) and prints "JOIN name" / "LEAVE name" lines.
func mlnode(args []string) error {
	fs := flag.NewFlagSet("mlnode", flag.ContinueOnError)
	name := fs.String("name", "", "node name")
	bind := fs.String("bind", "", "ip:port")
	join := fs.String("join", "", "ip:port to join")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(*bind)
	if err != nil {
		return err
	}
	cfg := memberlist.DefaultLANConfig()
	cfg.Name = *name
	cfg.BindAddr = host
	cfg.BindPort, _ = strconv.Atoi(port)
	cfg.AdvertisePort = cfg.BindPort
	cfg.Events = printer{}
	cfg.Logger = log.New(io.Discard, "", 0)
	ml, err := memberlist.Create(cfg)
	if err != nil {
		return err
	}
	if *join != "" {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := ml.Join([]string{*join}); err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond) // retry interval of a join loop, bounded by the deadline
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	_ = ml.Leave(5 * time.Second)
	return ml.Shutdown()
}

type printer struct{}

func (printer) NotifyJoin(n *memberlist.Node)   { fmt.Println("JOIN", n.Name) }
func (printer) NotifyLeave(n *memberlist.Node)  { fmt.Println("LEAVE", n.Name) }
func (printer) NotifyUpdate(n *memberlist.Node) {}
