package overview

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/danmaku/danmaku/protocol"
)

const (
	subjectPrefix = "danmaku.stats." // + node
	subjectAll    = subjectPrefix + "*"
)

// Roles a snapshot may name: the commands that run a node.
const (
	RoleServe   = "serve"
	RoleGateway = "gateway"
	RoleLogic   = "logic"
)

// Node is one node's figures, as GET /v1/nodes lists them.
type Node struct {
	ID      string `json:"id"`
	Role    string `json:"role"`
	Addr    string `json:"addr"`
	Version string `json:"version"`
	// StartedAt is when the node's stats began (its start); SeenAt is when
	// this node last received its snapshot, by this node's clock.
	StartedAt time.Time `json:"startedAt"`
	SeenAt    time.Time `json:"seenAt"`
	Figures
	// NATSConnected is whether the node's NATS connection was up when it
	// sampled (a node that is down cannot say otherwise, so this is false
	// only in a snapshot that got through after a reconnect).
	NATSConnected bool `json:"natsConnected"`
}

// Figures are the counts and rates of one node, or their totals.
type Figures struct {
	// Connections is the node's open viewer WebSocket connections
	// (danmaku_connections); Rooms the rooms with a viewer on it
	// (danmaku_rooms). Both are 0 on a logic node.
	Connections int64 `json:"connections"`
	Rooms       int64 `json:"rooms"`
	// MessagesInPerSec is, on a node with logic (serve, logic), the
	// messages it accepted and stored per second (danmaku_messages_in_total,
	// every source: viewer sends through its own gateway and API
	// publishes); on a gateway-only node, the room messages it received
	// from the bus and put into batches per second
	// (danmaku_messages_out_total).
	MessagesInPerSec float64 `json:"messagesInPerSec"`
	// DeliveriesPerSec is the frames written to viewers per second
	// (danmaku_deliveries_total; a frame holds a batch of one or more
	// messages); BytesOutPerSec the bytes of those frames
	// (danmaku_bytes_out_total).
	DeliveriesPerSec float64 `json:"deliveriesPerSec"`
	BytesOutPerSec   float64 `json:"bytesOutPerSec"`
	// PublishToWriteP50Ms and P99Ms are the publish→write latency quantiles
	// over the last interval in milliseconds, nil (JSON null) when nothing
	// was delivered in it.
	PublishToWriteP50Ms *float64 `json:"publishToWriteP50Ms"`
	PublishToWriteP99Ms *float64 `json:"publishToWriteP99Ms"`
	// Drops and Closes are the totals since the node started, by reason
	// (danmaku_drops_total, danmaku_closes_total; every reason of
	// internal/metrics/reasons.go, 0 included).
	Drops  map[string]uint64 `json:"drops"`
	Closes map[string]uint64 `json:"closes"`
}

// RoomRate is one room's figures: in a snapshot, on the sending gateway; in
// GET /v1/rooms, across the gateways.
type RoomRate struct {
	Room           string  `json:"room"`
	Online         int64   `json:"online"`
	MessagesPerSec float64 `json:"messagesPerSec"`
}

// snapshot is what a node publishes. Its SeenAt is ignored: the receiver
// stamps its own.
type snapshot struct {
	Node
	RoomRates []RoomRate `json:"roomRates,omitempty"`
	// Bye: the node is closing and leaves the tables at once.
	Bye bool `json:"bye,omitempty"`
}

// Bounds of a snapshot's fields: far above what a node sends, so that
// sums over many nodes stay exact and a forged snapshot cannot make a
// table large.
const (
	maxNode       = 64      // node ids are nuids, 22 characters
	maxAddr       = 256     // host:port
	maxVersion    = 64      //
	maxReasons    = 64      // entries of drops or closes
	maxReason     = 32      // a reason's length
	maxCount      = 1 << 40 // connections, rooms, online
	maxTotal      = 1 << 53 // drops and closes since start; exact in a float64 too
	maxRate       = 1e12    // per second
	maxRoomRates  = 2 * maxMaxRooms
	maxSnapshotMs = 1e7 // latency quantiles, ms (the histogram tops out at 2 s)
)

// errSnapshot wraps every reason a snapshot is refused.
var errSnapshot = errors.New("bad stats snapshot")

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errSnapshot, fmt.Sprintf(format, args...))
}

// parseSnapshot decodes a snapshot received on subject and checks it
// whole: a bad snapshot is refused with an error that says what is wrong,
// and nothing of it is used.
func parseSnapshot(subject string, data []byte) (snapshot, error) {
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return snapshot{}, badf("%v", err)
	}
	if err := s.check(); err != nil {
		return snapshot{}, err
	}
	if subject != subjectPrefix+s.ID {
		return snapshot{}, badf("node %q published on %s", s.ID, subject)
	}
	return s, nil
}

func (s *snapshot) check() error {
	switch {
	case !validNode(s.ID):
		return badf("node id %q is not 1–%d characters of [A-Za-z0-9_-]", s.ID, maxNode)
	case s.Bye:
		return nil // a goodbye needs only its node
	case s.Role != RoleServe && s.Role != RoleGateway && s.Role != RoleLogic:
		return badf("role %q is not serve, gateway or logic", s.Role)
	case len(s.Addr) > maxAddr || len(s.Version) > maxVersion:
		return badf("addr or version is too long")
	case s.Connections < 0 || s.Connections > maxCount || s.Rooms < 0 || s.Rooms > maxCount:
		return badf("connections %d or rooms %d out of range", s.Connections, s.Rooms)
	}
	for name, v := range map[string]float64{"messagesInPerSec": s.MessagesInPerSec, "deliveriesPerSec": s.DeliveriesPerSec, "bytesOutPerSec": s.BytesOutPerSec} {
		if !(v >= 0 && v <= maxRate) {
			return badf("%s %v out of range", name, v)
		}
	}
	for name, q := range map[string]*float64{"publishToWriteP50Ms": s.PublishToWriteP50Ms, "publishToWriteP99Ms": s.PublishToWriteP99Ms} {
		if q != nil && !(*q >= 0 && *q <= maxSnapshotMs) {
			return badf("%s %v out of range", name, *q)
		}
	}
	for name, m := range map[string]map[string]uint64{"drops": s.Drops, "closes": s.Closes} {
		if err := checkReasons(name, m); err != nil {
			return err
		}
	}
	if len(s.RoomRates) > maxRoomRates {
		return badf("%d rooms; at most %d", len(s.RoomRates), maxRoomRates)
	}
	seen := make(map[string]bool, len(s.RoomRates))
	for _, r := range s.RoomRates {
		switch {
		case !protocol.ValidRoom(r.Room):
			return badf("room %q is not a room name", r.Room)
		case seen[r.Room]:
			return badf("room %q is listed twice", r.Room)
		case r.Online < 0 || r.Online > maxCount || !(r.MessagesPerSec >= 0 && r.MessagesPerSec <= maxRate):
			return badf("room %q: online %d or messagesPerSec %v out of range", r.Room, r.Online, r.MessagesPerSec)
		}
		seen[r.Room] = true
	}
	return nil
}

func checkReasons(name string, m map[string]uint64) error {
	if len(m) > maxReasons {
		return badf("%s has %d reasons; at most %d", name, len(m), maxReasons)
	}
	for reason, n := range m {
		if !validReason(reason) || n > maxTotal {
			return badf("%s: reason %q (count %d) is not 1–%d characters of [a-z0-9_] with a count up to 2^53", name, reason, n, maxReason)
		}
	}
	return nil
}

// validNode reports whether id can name a node: one NATS subject token.
func validNode(id string) bool {
	return len(id) >= 1 && len(id) <= maxNode && strings.IndexFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) < 0
}

func validReason(s string) bool {
	return len(s) >= 1 && len(s) <= maxReason && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_')
	}) < 0
}
