package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"

	"github.com/danmaku/danmaku/client"
	"github.com/danmaku/danmaku/protocol"
)

// Example joins a room, posts a comment and prints the room's messages
// until interrupted. It needs a running server (danmaku serve), so it is
// compiled but not run by go test.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	c, err := client.Dial(ctx, "ws://127.0.0.1:8080/ws", client.Options{
		Token: os.Getenv("DANMAKU_TOKEN"), // empty: anonymous
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	context.AfterFunc(ctx, func() { c.Close() }) // ends the loop below

	joined, err := c.Join(ctx, "lobby")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("joined lobby at offset %d, %d online\n", joined.Offset, joined.Online)

	ack, err := c.Send(ctx, "lobby", client.Comment{Text: "hello", Color: "#ffcc00"})
	var nack *client.NackError
	switch {
	case errors.As(err, &nack) && nack.Code == protocol.CodeRateLimited:
		fmt.Println("slow down; retry after", nack.RetryAfter)
	case err != nil:
		fmt.Println("send failed:", err)
	default:
		fmt.Println("stored at offset", ack.Offset)
	}

	for ev := range c.Events() {
		switch ev.Kind {
		case client.EventMessage:
			name := "system"
			if ev.Message.User != nil {
				name = ev.Message.User.Name
			}
			fmt.Printf("[%s #%d] %s: %s\n", ev.Room, ev.Message.Offset, name, ev.Message.Text)
		case client.EventOnline:
			fmt.Printf("[%s] %d online\n", ev.Room, ev.Online)
		case client.EventBroadcast, client.EventUser:
			fmt.Printf("(%s) %s\n", ev.Kind, ev.Message.Text)
		case client.EventReset:
			fmt.Printf("[%s] history lost (%v); continuing from offset %d\n", ev.Room, ev.Err, ev.Offset)
		case client.EventState:
			fmt.Printf("connection %s (delay %v, cause %v)\n", ev.State, ev.Delay, ev.Err)
		case client.EventError:
			fmt.Println("server error:", ev.Err)
		}
	}
	if err := c.Err(); err != nil && !errors.Is(err, client.ErrClosed) {
		log.Fatal(err) // for example a 4501: the token was refused
	}
}

// ExampleDialAny connects to one of a cluster's three gateways and follows
// the client as it moves between them. It needs running servers, so it is
// compiled but not run by go test.
func ExampleDialAny() {
	ctx := context.Background()
	c, err := client.DialAny(ctx, []string{
		"wss://gw1.example.com/ws",
		"wss://gw2.example.com/ws",
		"wss://gw3.example.com/ws",
	}, client.Options{Token: os.Getenv("DANMAKU_TOKEN")})
	if err != nil {
		log.Fatal(err) // every URL failed once; the error names each
	}
	defer c.Close()
	if _, err := c.Join(ctx, "lobby"); err != nil {
		log.Fatal(err)
	}
	for ev := range c.Events() {
		switch ev.Kind {
		case client.EventState:
			// StateConnected names the node; StateReconnecting the next
			// one tried, after Delay.
			fmt.Printf("%s %s (delay %v, cause %v)\n", ev.State, ev.URL, ev.Delay, ev.Err)
		case client.EventMessage:
			fmt.Printf("[%s #%d] %s\n", ev.Room, ev.Message.Offset, ev.Message.Text)
		}
	}
}
