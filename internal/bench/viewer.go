package bench

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/lesismal/nbio"

	"github.com/danmaku/danmaku/protocol"
)

// viewer is one simulated viewer of a worker: one WebSocket connection at
// a time, and with a resuming plan a new one, on the next URL, after the
// server or the network closes it. The fields of a connection's framing
// live in its session; the viewer's own are atomic or set before its
// first connection, because a resume runs on another goroutine than the
// poller that read the last connection.
type viewer struct {
	w      *worker
	index  int // global viewer index
	room   int // index into the plan's rooms
	sample bool
	offer  bool   // offers permessage-deflate (the plan's DeflateShare)
	shard  *shard // set at the first connection, kept for the resumes

	conn   atomic.Pointer[nbio.Conn] // the current connection; nil before the first
	target atomic.Int32              // index into the worker's URLs of conn
	last   atomic.Uint64             // the newest offset seen (sample viewers: in chain order)
	epoch  atomic.Pointer[string]    // of the last joined reply
	// deflated: the last handshake agreed permessage-deflate; set by the
	// dial before the connection is registered.
	deflated atomic.Bool

	msgs     atomic.Uint64 // room messages received
	joined   atomic.Bool
	lost     atomic.Bool  // some connection of this viewer was closed under it
	closedAt atomic.Int64 // unix ns the connection closed, while a resume is pending

	// seen is every offset a sample viewer received, in order; guarded by
	// shard.mu.
	seen []uint64

	// Ingress only.
	sendMu   sync.Mutex // guards inflight and nextSend
	inflight int
	nextSend int64 // unix ns before which a paced connection does not send
}

// c is the viewer's current connection, nil before its first.
func (v *viewer) c() *nbio.Conn { return v.conn.Load() }

// session is one connection of a viewer, its nbio session. nbio calls
// onData for a connection serially on one poller goroutine, which owns
// the framing fields.
type session struct {
	v    *viewer
	nc   *nbio.Conn
	wire *wireCounters // of the shard, for this connection's negotiation

	// Owned by the poller goroutine.
	partial        []byte // an incomplete frame carried over to the next read
	fragment       []byte // a fragmented message being reassembled
	fragOp         byte
	fragCompressed bool
	frameWire      int // header and payload bytes of the frame being handled
	fragWire       int // of every frame of the fragmented message so far

	closeCode atomic.Int32 // close code the server sent, 0 if none
}

// shard holds the counters and latency histogram of the viewers on one
// nbio poller, so that pollers never contend with each other.
type shard struct {
	msgs, frames, bytes, sent, acks, nacks atomic.Uint64
	malformed                              atomic.Uint64
	// wire is what the viewers read, by whether their connection
	// negotiated permessage-deflate: [0] plain, [1] deflate.
	wire [2]wireCounters

	dialFails atomic.Uint64

	mu         sync.Mutex // guards the fields below
	latency    Histogram
	ackLatency Histogram
	gaps, dups uint64
	sampleMsgs uint64
	nackCodes  map[string]uint64
	byGateway  []gatewayHists // indexed like the worker's URLs
	back       Histogram      // close → joined again
	resumed    uint64
	recovered  uint64

	_ [64]byte // keep neighbouring shards off this cache line
}

// wireCounters are the bytes that viewers of one kind (plain or deflate)
// read from their sockets, and the room messages those bytes carried.
type wireCounters struct {
	bytes      atomic.Uint64 // everything read after the handshake's headers
	batchBytes atomic.Uint64 // batch frames only: headers and payloads as read
	frames     atomic.Uint64 // batch frames
	msgs       atomic.Uint64 // room messages in them
}

// gatewayHists is one shard's latency through one gateway, by whether the
// message was published through the same node.
type gatewayHists struct {
	same, cross Histogram
	msgs        uint64
	landed      uint64 // resumes that joined through this gateway
}

// raceEdge gives the race detector the happens-before edge that nbio's
// epoll handoff hides: a viewer is set up by a dial goroutine and then used
// on a poller goroutine. In normal builds it costs one uncontended load per
// read.
var raceEdge atomic.Uint64

// onData handles bytes read from the connection.
func (s *session) onData(data []byte) {
	raceEdge.Load()
	v := s.v
	now := time.Now().UnixNano()
	v.shard.bytes.Add(uint64(len(data)))
	s.wire.bytes.Add(uint64(len(data)))
	buf := data
	if len(s.partial) > 0 {
		s.partial = append(s.partial, data...)
		buf = s.partial
	}
	for len(buf) > 0 {
		fin, op, h, n, ok := frameHeader(buf)
		if !ok || uint64(len(buf)-h) < n {
			break
		}
		if buf[1]&0x80 != 0 { // servers never mask
			s.malformed()
			return
		}
		s.frameWire = h + int(n)
		s.onFrame(fin, op, buf[h:h+int(n)], now)
		buf = buf[h+int(n):]
	}
	switch {
	case len(buf) == 0:
		s.partial = s.partial[:0]
		if cap(s.partial) > 256<<10 {
			s.partial = nil
		}
	case len(s.partial) > 0:
		// buf is a suffix of partial: move it to the front.
		s.partial = s.partial[:copy(s.partial, buf)]
	default:
		s.partial = append(s.partial[:0], buf...) // data is nbio's buffer
	}
}

func (s *session) onFrame(fin bool, op byte, payload []byte, now int64) {
	compressed := op&rsv1 != 0
	op &^= rsv1
	switch op {
	case opText, opBinary:
		if !fin {
			s.fragOp = op
			s.fragCompressed = compressed
			s.fragment = append(s.fragment[:0], payload...)
			s.fragWire = s.frameWire
			return
		}
		s.countWire(s.frameWire, s.v.onWhole(payload, compressed, now))
	case opContinuation:
		s.fragment = append(s.fragment, payload...)
		s.fragWire += s.frameWire
		if fin {
			s.countWire(s.fragWire, s.v.onWhole(s.fragment, s.fragCompressed, now))
			s.fragment = nil
		}
	case opPing:
		_, _ = s.nc.Write(clientFrame(opPong, payload))
	case opPong:
	case opClose:
		code := int32(1005)
		if len(payload) >= 2 {
			code = int32(payload[0])<<8 | int32(payload[1])
		}
		s.closeCode.Store(code)
		_, _ = s.nc.Write(clientFrame(opClose, payload[:min(len(payload), 2)]))
		_ = s.nc.Close()
	default:
		s.malformed()
	}
}

// countWire counts a whole message of size bytes on the wire that carried
// msgs room messages (0: not a batch).
func (s *session) countWire(size int, msgs uint64) {
	if msgs == 0 {
		return
	}
	s.wire.batchBytes.Add(uint64(size))
	s.wire.frames.Add(1)
	s.wire.msgs.Add(msgs)
}

func (s *session) malformed() {
	s.v.shard.malformed.Add(1)
	_ = s.nc.Close()
}

// malformed counts a message the viewer could not parse and closes its
// connection.
func (v *viewer) malformed() {
	v.shard.malformed.Add(1)
	if c := v.c(); c != nil {
		_ = c.Close()
	}
}

// onMessage handles one complete text message and returns the room
// messages it counted: those of a batch, else 0.
func (v *viewer) onMessage(p []byte, now int64) uint64 {
	if bytes.HasPrefix(p, batchPrefix) {
		return v.onBatch(p, now)
	}
	switch {
	case bytes.HasPrefix(p, []byte(`{"op":"ack"`)):
		v.onAck(p, now)
	case bytes.HasPrefix(p, []byte(`{"op":"joined"`)):
		var j protocol.Joined
		if json.Unmarshal(p, &j) != nil {
			v.shard.malformed.Add(1)
			return 0
		}
		v.epoch.Store(&j.Epoch)
		if closed := v.closedAt.Swap(0); closed != 0 {
			// A resume: the catch-up that follows starts after since, which
			// is v.last, so the chain check goes on from there, and a
			// recovered:false catch-up shows as duplicates or gaps.
			sh := v.shard
			sh.mu.Lock()
			sh.back.RecordN(now-closed, 1)
			sh.resumed++
			if j.Recovered {
				sh.recovered++
			}
			sh.byGateway[v.target.Load()].landed++
			sh.mu.Unlock()
		} else if !v.joined.Load() {
			v.last.Store(j.Offset)
		}
		if !v.joined.Swap(true) {
			v.w.joined.Add(1)
		}
		if v.w.sending.Load() {
			v.fill()
		}
	case bytes.HasPrefix(p, []byte(`{"op":"nack"`)), bytes.HasPrefix(p, []byte(`{"op":"error"`)):
		var m protocol.ServerMessage
		if json.Unmarshal(p, &m) != nil {
			v.shard.malformed.Add(1)
			return 0
		}
		code := m.Code
		if m.Op == protocol.OpError {
			code = "error:" + code
		}
		v.shard.mu.Lock()
		if v.shard.nackCodes == nil {
			v.shard.nackCodes = map[string]uint64{}
		}
		v.shard.nackCodes[code]++
		v.shard.mu.Unlock()
		if m.Op == protocol.OpNack {
			v.shard.nacks.Add(1)
			// Not refilled here: the worker's refill tick sends again, so a
			// refusing server is not answered with a tight loop.
			v.sendMu.Lock()
			v.inflight--
			v.sendMu.Unlock()
		}
	}
	// online, pong and user frames need nothing.
	return 0
}

// onWhole handles a whole message, inflating it first if compressed.
// Every viewer of a room gets the same compressed bytes (the server
// compresses each frame once), so viewers other than the samples look the
// frame up by a hash of those bytes and inflate only on a miss. It returns
// the room messages it counted, as onMessage does.
func (v *viewer) onWhole(p []byte, compressed bool, now int64) uint64 {
	if !compressed {
		return v.onMessage(p, now)
	}
	rc := &v.w.rooms[v.room]
	var key uint64
	if !v.sample {
		key = maphash.Bytes(v.w.seed, p)
		if pb := rc.lookupDeflated(key, len(p)); pb != nil {
			return v.countBatch(pb, now)
		}
	}
	buf, err := inflate(p)
	if err != nil {
		v.malformed()
		return 0
	}
	defer plainBufs.Put(buf)
	plain := buf.Bytes()
	if !bytes.HasPrefix(plain, batchPrefix) {
		return v.onMessage(plain, now)
	}
	pb := v.parseBatch(plain)
	if pb == nil {
		return 0
	}
	if !v.sample {
		rc.storeDeflated(&deflatedBatch{key: key, size: len(p), pb: pb})
	}
	return v.countBatch(pb, now)
}

// onBatch counts a batch frame's messages and records their latency.
func (v *viewer) onBatch(p []byte, now int64) uint64 {
	if pb := v.parseBatch(p); pb != nil {
		return v.countBatch(pb, now)
	}
	return 0
}

// parseBatch parses a batch payload: on its own for sample viewers, through
// the room's cache for the others. nil means malformed (counted).
func (v *viewer) parseBatch(p []byte) *parsedBatch {
	room, msgs, err := splitBatch(p)
	if err != nil || string(room) != v.w.plan.Rooms[v.room] {
		v.shard.malformed.Add(1)
		return nil
	}
	var pb *parsedBatch
	if v.sample {
		// Sample viewers decode their own bytes and check the order.
		if pb, err = parseMessages(msgs, len(p)); err != nil {
			pb = nil
		}
	} else {
		pb = v.w.rooms[v.room].parse(msgs, len(p))
	}
	if pb == nil {
		v.shard.malformed.Add(1)
	}
	return pb
}

// countBatch counts a batch's messages, records their latency and, for
// sample viewers, checks their order. It returns the messages counted.
func (v *viewer) countBatch(pb *parsedBatch, now int64) uint64 {
	n := uint64(len(pb.offsets))
	v.msgs.Add(n)
	sh := v.shard
	sh.msgs.Add(n)
	sh.frames.Add(1)
	after := v.w.recordAfter.Load()
	g := v.target.Load()
	same := v.w.sameNode[g]
	sh.mu.Lock()
	gh := &sh.byGateway[g]
	gh.msgs += n
	if after > 0 {
		for i, t := range pb.ts {
			if t < after {
				continue
			}
			d := now - t
			sh.latency.RecordN(d, 1)
			switch a := pb.via[i]; {
			case a < 0 || int(a) >= len(same):
				// not stamped by this bench's publisher
			case same[a]:
				gh.same.RecordN(d, 1)
			default:
				gh.cross.RecordN(d, 1)
			}
		}
	}
	if v.sample {
		sh.sampleMsgs += n
		last := v.last.Load()
		for i, off := range pb.offsets {
			switch {
			case off <= last:
				sh.dups++
			case pb.prevs[i] != last:
				sh.gaps++
				last = off
			default:
				last = off
			}
		}
		v.last.Store(last)
		v.seen = append(v.seen, pb.offsets...)
	} else if off := pb.offsets[len(pb.offsets)-1]; off > v.last.Load() {
		v.last.Store(off)
	}
	sh.mu.Unlock()
	return n
}

// roomCache shares the parse of a room's recent frames among a worker's
// viewers: they all receive the same bytes, though not at the same moment
// (a viewer late by a few frames must still hit), so it keeps the last
// cacheSlots frames in each form.
type roomCache struct {
	plain     [cacheSlots]atomic.Pointer[parsedBatch]
	deflated  [cacheSlots]atomic.Pointer[deflatedBatch]
	nextPlain atomic.Uint32
	nextDefl  atomic.Uint32
}

const cacheSlots = 32

// parse returns the parse of msgs, from the cache when a frame with the
// same first offset and length was parsed recently.
func (rc *roomCache) parse(msgs []byte, size int) *parsedBatch {
	first, ok := firstOffset(msgs)
	if !ok {
		return nil
	}
	for i := range rc.plain {
		if pb := rc.plain[i].Load(); pb != nil && pb.first == first && pb.size == size {
			return pb
		}
	}
	pb, err := parseMessages(msgs, size)
	if err != nil {
		return nil
	}
	rc.plain[rc.nextPlain.Add(1)%cacheSlots].Store(pb)
	return pb
}

// lookupDeflated finds a compressed frame by the hash and length of its
// bytes.
func (rc *roomCache) lookupDeflated(key uint64, size int) *parsedBatch {
	for i := range rc.deflated {
		if e := rc.deflated[i].Load(); e != nil && e.key == key && e.size == size {
			return e.pb
		}
	}
	return nil
}

func (rc *roomCache) storeDeflated(e *deflatedBatch) {
	rc.deflated[rc.nextDefl.Add(1)%cacheSlots].Store(e)
}

// deflatedBatch is the parse of a compressed frame, by a hash of its bytes.
type deflatedBatch struct {
	key  uint64
	size int
	pb   *parsedBatch
}

// deflateTail ends every compressed message; senders drop it (RFC 7692).
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

var (
	inflaters sync.Pool // of io.ReadCloser from flate.NewReader (flate.Resetter)
	plainBufs sync.Pool // of *bytes.Buffer for inflated messages
)

// inflate decompresses one permessage-deflate message into a pooled
// buffer; the caller returns it with plainBufs.Put when done with it.
func inflate(p []byte) (*bytes.Buffer, error) {
	src := io.MultiReader(bytes.NewReader(p), bytes.NewReader(deflateTail))
	var r io.ReadCloser
	if x, ok := inflaters.Get().(io.ReadCloser); ok {
		r = x
		if err := r.(flate.Resetter).Reset(src, nil); err != nil {
			return nil, err
		}
	} else {
		r = flate.NewReader(src)
	}
	buf, _ := plainBufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	buf.Grow(8 * len(p))
	_, err := buf.ReadFrom(r)
	if err == io.ErrUnexpectedEOF {
		err = nil // the stream ends at the sync flush, without a final block
	}
	inflaters.Put(r)
	if err != nil {
		plainBufs.Put(buf)
		return nil, err
	}
	return buf, nil
}

// Ingress: a viewer keeps Window sends in flight; the id of each send is
// its send time, so the ack carries its own latency.

var ackIDPrefix = []byte(`{"op":"ack","id":"`)

func (v *viewer) onAck(p []byte, now int64) {
	sh := v.shard
	sh.acks.Add(1)
	if rest, ok := bytes.CutPrefix(p, ackIDPrefix); ok {
		if sent, _, ok := readUint(rest); ok && int64(sent) >= v.w.recordAfter.Load() && v.w.recordAfter.Load() > 0 {
			sh.mu.Lock()
			sh.ackLatency.RecordN(now-int64(sent), 1)
			sh.mu.Unlock()
		}
	}
	v.sendMu.Lock()
	v.inflight--
	v.sendMu.Unlock()
	if v.w.sending.Load() {
		v.fill()
	}
}

// fill sends until Window sends are in flight.
func (v *viewer) fill() {
	if !v.joined.Load() {
		return
	}
	window := v.w.plan.Window
	interval := v.w.plan.SendIntervalNs
	for {
		v.sendMu.Lock()
		if v.inflight >= window {
			v.sendMu.Unlock()
			return
		}
		if interval > 0 {
			now := time.Now().UnixNano()
			if v.nextSend == 0 {
				// Stagger the connections over one interval.
				v.nextSend = now + rand.Int64N(interval)
			}
			if now < v.nextSend {
				v.sendMu.Unlock()
				return // the worker's refill tick comes back
			}
			v.nextSend = max(v.nextSend, now-interval) + interval
		}
		v.inflight++
		v.sendMu.Unlock()
		if _, err := v.c().Write(v.sendFrame()); err != nil {
			return
		}
		v.shard.sent.Add(1)
	}
}

func (v *viewer) sendFrame() []byte {
	id := strconv.AppendInt(nil, time.Now().UnixNano(), 10)
	b := make([]byte, 0, 96)
	b = append(b, `{"op":"send","room":"`...)
	b = append(b, v.w.plan.Rooms[v.room]...)
	b = append(b, `","id":"`...)
	b = append(b, id...)
	b = append(b, `","text":"bench `...)
	b = append(b, id...)
	b = append(b, `"}`...)
	return clientFrame(opText, b)
}
