package bus

import (
	"strconv"
	"unique"

	"github.com/nats-io/nats.go"

	"github.com/danmaku/danmaku/protocol"
)

// Headers this package sets on stored messages (doc.go, "Headers").
// JetStream keeps a message's headers with it and RePublish copies them to
// the live subject, so live and history reads see the same values.
const (
	typeHeader        = "Danmaku-Type"
	tsHeader          = "Danmaku-Ts"
	firstHeader       = "Danmaku-First"
	expectLastSubjSeq = "Nats-Expected-Last-Subject-Sequence"
)

// Record is one message for Append: its body, and the metadata the writer
// already knows and readers should not have to decode the body for. It is
// not a protocol.Stored because a writer has no Offset or Prev to give;
// the store assigns them.
type Record struct {
	Body []byte // a JSON object: json.Marshal(protocol.Body)
	Type string // the body's type; "" if unknown (no header is sent)
	TS   int64  // unix ms the message was accepted; 0 if unknown (no header)
}

// valid reports whether the metadata can travel as headers and be read
// back as it was written: the bus may carry messages of writers that never
// went through logic's validation.
func (r Record) valid() bool {
	return (r.Type == "" || protocol.ValidType(r.Type)) && r.TS >= 0
}

// metaHeader holds the metadata headers of one publish. PublishMsg encodes
// a message's headers before returning, so one map (and one value slice
// per header) serves every record of the publish.
type metaHeader struct {
	h   nats.Header
	typ []string
	ts  []string
}

func newMetaHeader(first bool) *metaHeader {
	m := &metaHeader{h: make(nats.Header, 4), typ: []string{""}, ts: []string{""}}
	if first {
		m.h[expectLastSubjSeq] = []string{"0"}
		m.h[firstHeader] = []string{"1"}
	}
	return m
}

// set makes the header hold r's metadata.
func (m *metaHeader) set(r Record) nats.Header {
	if r.Type != "" {
		m.typ[0] = r.Type
		m.h[typeHeader] = m.typ
	} else {
		delete(m.h, typeHeader)
	}
	if r.TS != 0 {
		m.ts[0] = strconv.FormatInt(r.TS, 10)
		m.h[tsHeader] = m.ts
	} else {
		delete(m.h, tsHeader)
	}
	return m.h
}

// metaOf reads the metadata headers of a stored or republished message.
// A message stored without them (before they existed, or by another
// writer) or with values this package would not have written yields ""
// and 0, which readers take as unknown.
func metaOf(h nats.Header) (typ string, ts int64) {
	typ = h.Get(typeHeader)
	if typ != "" && !protocol.ValidType(typ) {
		typ = ""
	}
	if typ != "" {
		typ = unique.Make(typ).Value() // one string per type, not one per kept message
	}
	if v := h.Get(tsHeader); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			ts = n
		}
	}
	return typ, ts
}
