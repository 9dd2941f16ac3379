package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// partitionsKey is the stream metadata key recording how many partition
// streams the deployment's history is spread over, so that Open can refuse
// a configuration that would look for rooms in the wrong streams.
const partitionsKey = "danmaku.partitions"

// maxPartitions bounds Config.Partitions. Each partition is a stream, a
// RAFT group on every server that holds a replica, and Open creates them
// one after the other; far more than a cluster's cores buys nothing.
const maxPartitions = 1024

// directPrefix is the subject prefix of JetStream direct gets; the stream
// name follows it.
const directPrefix = "$JS.API.DIRECT.GET."

// partition is one history stream and what the rooms hashed onto it need
// to reach it.
type partition struct {
	stream string // the stream's name
	prefix string // a room's stored subject is prefix + its room token
	direct string // directPrefix + stream
	epoch  string // loaded by Open, read-only afterwards
}

// partitions lists the history streams, indexed by partitionOf.
type partitions []partition

// newPartitions lays out n partitions of the history named stream. One
// partition is the layout that predates partitioning, kept exactly (stream
// <stream>, subjects room.<token>) so that existing history stays readable.
func newPartitions(stream string, n int) partitions {
	if n == 1 {
		return partitions{{stream: stream, prefix: roomPrefix, direct: directPrefix + stream}}
	}
	parts := make(partitions, n)
	for i := range parts {
		name := partitionStream(stream, i)
		parts[i] = partition{stream: name, prefix: roomPrefix + strconv.Itoa(i) + ".", direct: directPrefix + name}
	}
	return parts
}

// partitionStream names partition i of a history partitioned more than one way.
func partitionStream(stream string, i int) string { return stream + "-" + strconv.Itoa(i) }

// partitionOf returns the partition holding room's history: the 32-bit
// FNV-1a hash of the room name, modulo n. It decides where a room's
// history lives, so it must never change.
func partitionOf(room string, n int) int {
	const (
		offset32 = 2166136261
		prime32  = 16777619
	)
	h := uint32(offset32)
	for i := 0; i < len(room); i++ {
		h ^= uint32(room[i])
		h *= prime32
	}
	return int(h % uint32(n))
}

// roomRef is where a room's history is: its stored subject and its stream.
type roomRef struct {
	subject string
	part    *partition
}

// locate returns room's stored subject and partition.
func (ps partitions) locate(room string) (roomRef, error) {
	token, err := roomToken(room)
	if err != nil {
		return roomRef{}, err
	}
	p := &ps[partitionOf(room, len(ps))]
	return roomRef{subject: p.prefix + token, part: p}, nil
}

// streamSubjects is the subject filter of p's stream.
func (p *partition) streamSubjects() string { return p.prefix + "*" }

// rePublish maps p's stored subjects onto live.room.<token>, the same live
// subject whatever the partition, so that gateways subscribe per room
// without knowing the layout.
func (p *partition) rePublish() *jetstream.RePublish {
	if p.prefix == roomPrefix {
		return &jetstream.RePublish{Source: roomPrefix + ">", Destination: liveRoomPrefix + ">"}
	}
	return &jetstream.RePublish{Source: p.streamSubjects(), Destination: liveRoomPrefix + "{{wildcard(1)}}"}
}

// layoutNames are the names under which Open looks for history laid out
// with another partition count before it creates anything: reading on
// would find rooms empty, and writing would split rooms across two
// layouts. One partition is the stream <Stream>, several are <Stream>-0 on,
// and each records the count in its metadata. All of this layout's names
// are looked at, not just <Stream>-0, in case some stream of an old layout
// was deleted by hand.
func (b *Bus) layoutNames() []string {
	names := []string{b.cfg.Stream}
	for i := range len(b.parts) {
		names = append(names, partitionStream(b.cfg.Stream, i))
	}
	return names
}

// checkLayout refuses to open if stream name exists and records another
// partition count.
func (b *Bus) checkLayout(ctx context.Context, name string) error {
	stream, err := b.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up: %w", err)
	}
	have, err := strconv.Atoi(stream.CachedInfo().Config.Metadata[partitionsKey])
	switch {
	case name == b.cfg.Stream && err != nil:
		have = 1 // made before partitions existed, when there was one
	case name != b.cfg.Stream && (err != nil || have <= 1):
		return nil // not a partition: some other deployment's stream of that name
	}
	if have != len(b.parts) {
		return b.layoutChanged(name, have)
	}
	return nil
}

// layoutChanged is the refusal of checkLayout and tryEnsureStream: stream
// records have partitions where Config asks for another count.
func (b *Bus) layoutChanged(stream string, have int) error {
	old := "stream " + b.cfg.Stream
	if have > 1 {
		old = fmt.Sprintf("streams %s…%s", partitionStream(b.cfg.Stream, 0), partitionStream(b.cfg.Stream, have-1))
	}
	return fmt.Errorf("%w: stream %s holds history laid out with partitions=%d, but partitions=%d is configured; "+
		"configure partitions=%d to keep that history, or start an empty one with a new data directory "+
		"(embedded NATS) or after deleting %s",
		ErrPartitionsChanged, stream, have, len(b.parts), have, old)
}
