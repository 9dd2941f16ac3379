package presence

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

// snapshotChunk bounds one snapshot message below NATS's default payload
// limit (1 MiB), at about 24 bytes per room entry.
const snapshotChunk = 16384
