package bus

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/danmaku/danmaku/protocol"
)

type meta struct {
	typ string
	ts  int64
}

func metas(msgs []protocol.Stored) []meta {
	out := make([]meta, len(msgs))
	for i, m := range msgs {
		out[i] = meta{m.Type, m.TS}
	}
	return out
}

func checkMetas(t *testing.T, read string, msgs []protocol.Stored, want []meta) {
	t.Helper()
	got := metas(msgs)
	if len(got) != len(want) {
		t.Fatalf("%s: %d messages, want %d", read, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: message %d has type %q ts %d, want %q %d", read, i, got[i].typ, got[i].ts, want[i].typ, want[i].ts)
		}
	}
}

// Live and replayed messages must carry the same metadata, including the
// room's first message (which Append sends with extra headers) and
// messages stored without the headers or with values Append never writes.
func TestRecordMetadataLiveAndHistory(t *testing.T) {
	b := open(t, Config{})
	const room = "meta.room"
	var live collector[protocol.Stored]
	unsubscribe, err := b.SubscribeRoom(room, live.add)
	if err != nil {
		t.Fatal(err)
	}
	defer unsubscribe()

	before := time.Now()
	body := bodies(1)[0]
	recs := []Record{
		{Body: body, Type: protocol.TypeDanmaku, TS: 1763900000123},
		{Body: body, Type: protocol.TypeDelete, TS: 1763900000456},
		{Body: body}, // a writer that knows neither
	}
	if _, err := b.Append(ctxT(t), room, recs); err != nil {
		t.Fatal(err)
	}
	ref, err := b.parts.locate(room)
	if err != nil {
		t.Fatal(err)
	}
	subject := ref.subject
	// Stored by another writer: no headers at all, then headers whose
	// values Append would have refused.
	if _, err := b.js.Publish(ctxT(t), subject, body); err != nil {
		t.Fatal(err)
	}
	bogus := nats.Header{typeHeader: {"Not A Type"}, tsHeader: {"soon"}}
	if _, err := b.js.PublishMsg(ctxT(t), &nats.Msg{Subject: subject, Header: bogus, Data: body}); err != nil {
		t.Fatal(err)
	}
	overflow := nats.Header{tsHeader: {"99999999999999999999"}}
	if _, err := b.js.PublishMsg(ctxT(t), &nats.Msg{Subject: subject, Header: overflow, Data: body}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctxT(t), room, []Record{{Body: body, Type: "gift", TS: 1763900000789}}); err != nil {
		t.Fatal(err)
	}
	want := []meta{
		{protocol.TypeDanmaku, 1763900000123},
		{protocol.TypeDelete, 1763900000456},
		{"", 0}, {"", 0}, {"", 0}, {"", 0},
		{"gift", 1763900000789},
	}

	waitFor(t, "live messages", func() bool { return live.len() == len(want) })
	checkMetas(t, "live", live.snapshot(), want)

	after, complete, err := b.After(ctxT(t), room, 0, 0)
	if err != nil || !complete {
		t.Fatalf("After: complete %v, %v", complete, err)
	}
	checkMetas(t, "After(0)", after, want)
	resumed, _, err := b.After(ctxT(t), room, after[1].Offset, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkMetas(t, "After(second)", resumed, want[2:])
	latest, err := b.Latest(ctxT(t), room, 3)
	if err != nil {
		t.Fatal(err)
	}
	checkMetas(t, "Latest(3)", latest, want[len(want)-3:])
	ranged, err := b.Range(ctxT(t), room, before.Add(-time.Second), time.Now().Add(time.Second), 0)
	if err != nil {
		t.Fatal(err)
	}
	checkMetas(t, "Range", ranged, want)
}

func TestAppendRefusesUnreadableMetadata(t *testing.T) {
	b := open(t, Config{})
	body := bodies(1)[0]
	for _, r := range []Record{
		{Body: body, Type: "danmaku\r\nX-Injected: 1", TS: 1},
		{Body: body, Type: "Danmaku", TS: 1},
		{Body: body, Type: protocol.TypeDanmaku, TS: -1},
	} {
		if _, err := b.Append(ctxT(t), "r", []Record{records(1)[0], r}); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("Append(type %q, ts %d) = %v, want ErrInvalidRecord", r.Type, r.TS, err)
		}
	}
	// Nothing of a refused call is stored, not even its valid records.
	if last, err := b.LastOffset(ctxT(t), "r"); err != nil || last != 0 {
		t.Fatalf("LastOffset = %d, %v; want an empty room", last, err)
	}
}
