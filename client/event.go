package client

import (
	"time"

	"github.com/danmaku/danmaku/protocol"
)

// EventKind tells which fields of an Event are set.
type EventKind int

const (
	// EventMessage is one message of a joined room: Room, Message. Messages
	// of a room arrive in offset order, each once.
	EventMessage EventKind = iota + 1
	// EventOnline is a room's viewer count: Room, Online.
	EventOnline
	// EventUser is a message addressed to this user (push-to-user): Message.
	EventUser
	// EventBroadcast is a message sent to every connection: Message.
	EventBroadcast
	// EventReset says a room lost continuity: Room, Epoch and Offset (where
	// it continues) and Err (ErrHistoryLost or ErrGap). Messages before and
	// after it may not join up; redraw the room's history from what follows.
	EventReset
	// EventError is an error the server reported that no call was waiting
	// for, or a room the client had to drop while resuming: Err, and Room
	// when it concerns one.
	EventError
	// EventState is a connection state change: State; for StateConnected
	// URL; for StateReconnecting Delay, Attempt, URL and Err (why the
	// connection ended); for StateClosed Err (nil after Close).
	EventState
)

var kindNames = [...]string{"", "message", "online", "user", "broadcast", "reset", "error", "state"}

func (k EventKind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// State is the state of the client's connection.
type State int

const (
	// StateConnected: connected, authenticated, and rejoining rooms.
	StateConnected State = iota + 1
	// StateReconnecting: the connection ended; the next attempt comes
	// after Event.Delay.
	StateReconnecting
	// StateClosed: the client stopped and will not reconnect. It is the
	// last event; the channel is closed after it.
	StateClosed
)

var stateNames = [...]string{"", "connected", "reconnecting", "closed"}

func (s State) String() string {
	if s > 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Event is one thing the client delivers on its Events channel. Kind says
// which fields are set.
type Event struct {
	Kind EventKind

	// Room is the room of a message, online count, reset or room error.
	Room string
	// Message is set for EventMessage, EventUser and EventBroadcast.
	Message protocol.Message
	// Online is the viewer count of EventOnline.
	Online int64

	// Epoch and Offset are where an EventReset room continues.
	Epoch  string
	Offset uint64

	// State is set for EventState.
	State State
	// Delay and Attempt describe a StateReconnecting event: the wait before
	// the attempt, and its number (1 for the first after a disconnect).
	Delay   time.Duration
	Attempt int
	// URL is the server URL a StateConnected event is connected to, and
	// the one a StateReconnecting event's attempt will dial.
	URL string

	// Err is the error of EventError and EventReset, why the connection
	// ended for StateReconnecting, and why the client stopped for
	// StateClosed (nil when Close stopped it).
	Err error
}
