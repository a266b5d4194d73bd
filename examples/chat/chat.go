package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/groups"
	"github.com/cloister-go/cloister/registry"
)

// room is the group every logged-in user joins.
const room = "chat"

// Message is one chat message.
type Message struct {
	From string `json:"from"`
	To   string `json:"to,omitempty"` // empty for a broadcast
	Text string `json:"text"`
}

// Chat is the chat of one node: users who log in here are registered
// cluster-wide under "user:NAME" and join the room; a message to a user
// goes to whichever node the user logged in on.
type Chat struct {
	Names  *registry.Registry
	Groups *groups.Groups

	mu      sync.Mutex
	inboxes map[string][]Message
}

// New returns a chat; add Services() to the node's Config.
func New() *Chat {
	return &Chat{
		Names:   registry.New(registry.Options{}),
		Groups:  groups.New(groups.Options{}),
		inboxes: map[string][]Message{},
	}
}

// Services are the cluster services the chat runs on.
func (c *Chat) Services() []cloister.Service { return []cloister.Service{c.Names, c.Groups} }

// Login registers user on this node: registry.ErrNameTaken if the user is
// logged in anywhere in the cluster.
func (c *Chat) Login(ctx context.Context, user string) error {
	deliver := func(_ context.Context, _ cloister.Member, body []byte) ([]byte, error) {
		var m Message
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.inboxes[user] = append(c.inboxes[user], m)
		c.mu.Unlock()
		return nil, nil
	}
	if _, err := c.Names.Register(ctx, "user:"+user, deliver); err != nil {
		return err
	}
	c.mu.Lock()
	c.inboxes[user] = []Message{}
	c.mu.Unlock()
	return c.Groups.Join(room, user, deliver)
}

// Logout unregisters user, logged in on this node.
func (c *Chat) Logout(user string) error {
	if err := c.Names.Unregister("user:" + user); err != nil {
		return err
	}
	_ = c.Groups.Leave(room, user)
	c.mu.Lock()
	delete(c.inboxes, user)
	c.mu.Unlock()
	return nil
}

// Send delivers a message to one user, on whichever node: it returns once
// the user's node has it (registry.ErrNoSuchName if nobody is logged in
// under that name).
func (c *Chat) Send(ctx context.Context, from, to, text string) error {
	body, err := json.Marshal(Message{From: from, To: to, Text: text})
	if err != nil {
		return err
	}
	if _, err := c.Names.Call(ctx, "user:"+to, body); err != nil {
		return fmt.Errorf("send to %s: %w", to, err)
	}
	return nil
}

// Broadcast sends a message to every user in the room, on every node.
func (c *Chat) Broadcast(ctx context.Context, from, text string) error {
	body, err := json.Marshal(Message{From: from, Text: text})
	if err != nil {
		return err
	}
	return c.Groups.Publish(ctx, room, body)
}

// Inbox returns a copy of the messages user received on this node.
func (c *Chat) Inbox(user string) ([]Message, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	in, ok := c.inboxes[user]
	return append([]Message(nil), in...), ok
}

// Users lists the users in the room, on every node.
func (c *Chat) Users() []string {
	var out []string
	for _, m := range c.Groups.Members(room) {
		out = append(out, m.Key)
	}
	return out
}
