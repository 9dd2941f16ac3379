package overview

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzSnapshot feeds arbitrary bytes on an arbitrary subject through the
// decoder and into a table: nothing panics, what is accepted passes the
// checks again after a round trip through JSON, and the table's totals
// and room list agree with the snapshots it holds.
func FuzzSnapshot(f *testing.F) {
	f.Add("danmaku.stats.n1", []byte(`{"id":"n1","role":"serve","addr":"127.0.0.1:8080","connections":10,"rooms":2,"messagesInPerSec":3.5,"deliveriesPerSec":35,"bytesOutPerSec":5000,"publishToWriteP50Ms":2.1,"publishToWriteP99Ms":9.8,"drops":{"slow_consumer":0},"closes":{"client":3},"natsConnected":true,"roomRates":[{"room":"lobby","online":10,"messagesPerSec":3.5}]}`))
	f.Add("danmaku.stats.n1", []byte(`{"id":"n1","bye":true}`))
	f.Add("danmaku.stats.n2", []byte(`{"id":"n1","role":"gateway"}`))
	f.Add("danmaku.stats.n1", []byte(`{"id":"n1","role":"logic","publishToWriteP99Ms":null,"roomRates":[{"room":"a.b","online":-1}]}`))
	f.Fuzz(func(t *testing.T, subject string, data []byte) {
		s, err := parseSnapshot(subject, data)
		if err != nil {
			return
		}
		if err := s.check(); err != nil {
			t.Fatalf("accepted, then refused: %v", err)
		}
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("an accepted snapshot does not encode: %v", err)
		}
		s2, err := parseSnapshot(subject, again)
		if err != nil {
			t.Fatalf("an accepted snapshot, encoded again, is refused: %v", err)
		}
		if third, _ := json.Marshal(s2); !bytes.Equal(third, again) {
			t.Fatalf("round trip changed the snapshot:\n%s\n%s", again, third)
		}
		if s.Bye {
			return
		}
		tb := bareTable()
		tb.put(s, time.Now())
		other := snapshot{Node: Node{ID: s.ID + "x", Role: RoleGateway, Figures: Figures{Connections: 1, MessagesInPerSec: 1}},
			RoomRates: []RoomRate{{"lobby", 1, 1}}}
		tb.put(other, time.Now())
		r := tb.Nodes()
		if r.Totals.Nodes != 2 || r.Totals.Connections != s.Connections+1 || r.Totals.MessagesInPerSec != round(s.MessagesInPerSec+1) {
			t.Fatalf("totals %+v of %+v and one more", r.Totals, s.Node)
		}
		rooms := tb.Rooms("", OrderRate, maxRoomsLimitForFuzz)
		if rooms.Total > len(s.RoomRates)+1 || rooms.Total < 1 || len(rooms.Rooms) > maxRoomsLimitForFuzz {
			t.Fatalf("%d rooms listed of %d and 1", rooms.Total, len(s.RoomRates))
		}
		for i, room := range rooms.Rooms {
			if room.Online < 0 || room.MessagesPerSec < 0 || (i > 0 && room.MessagesPerSec > rooms.Rooms[i-1].MessagesPerSec) {
				t.Fatalf("room %d of the list: %+v", i, room)
			}
		}
	})
}

const maxRoomsLimitForFuzz = 500
