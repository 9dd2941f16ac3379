package presence

import (
	"encoding/json"

	"github.com/danmaku/danmaku/protocol"
)

const (
	reportSubject   = "danmaku.online"
	snapshotSubject = "danmaku.online.snapshot." // + node
)

// report is one gateway's changed counts (or, in a snapshot, a chunk of all
// of them).
type report struct {
	Node  string           `json:"node"`
	Seq   uint64           `json:"seq"`
	Rooms map[string]int64 `json:"rooms,omitempty"`
	// Snapshot chunks only: this chunk's index and how many there are.
	Part  int `json:"part,omitempty"`
	Parts int `json:"parts,omitempty"`
}

// maxNode bounds a node id; ids are nuids (22 characters).
const maxNode = 64

// maxCount bounds one gateway's viewers of one room, far above what a
// gateway can hold, so that sums over any number of gateways stay exact.
const maxCount = 1 << 32

// parseReport decodes a report and drops what no gateway would send: a
// missing or oversized node id, room names that are not room names, and
// counts below zero or above maxCount. A bad report is ignored whole; a bad entry alone.
func parseReport(data []byte) (report, bool) {
	var r report
	if json.Unmarshal(data, &r) != nil || r.Node == "" || len(r.Node) > maxNode {
		return report{}, false
	}
	for room, c := range r.Rooms {
		if !protocol.ValidRoom(room) || c < 0 || c > maxCount {
			delete(r.Rooms, room)
		}
	}
	return r, true
}

// snapshotChunk bounds one snapshot message below NATS's default payload
// limit (1 MiB), at about 24 bytes per room entry.
const snapshotChunk = 16384
