package gateway_test

import (
	"bytes"
	"io"

	"github.com/danmaku/danmaku/internal/gateway"
	"github.com/danmaku/danmaku/protocol"
)

type gwConfig = gateway.Config

func gatewayKnobs(f func(*gwConfig)) gateway.Config {
	var c gateway.Config
	f(&c)
	return c
}

func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }

// collectErr is collect for goroutines: it reports instead of failing.
func (v *viewer) collectErr(room string, n int) []protocol.Message {
	var got []protocol.Message
	for len(got) < n {
		m, err := v.tryRead(20e9)
		if err != nil {
			return got
		}
		if m.Op != protocol.OpBatch || m.Room != room {
			continue
		}
		for _, msg := range m.Msgs {
			if msg.Offset <= v.last[room] || msg.Prev != v.last[room] {
				return got
			}
			v.last[room] = msg.Offset
			got = append(got, msg)
		}
	}
	return got
}

func ioReadFull(r io.Reader, b []byte) (int, error) { return io.ReadFull(r, b) }

// collectFresh reads the replay of a fresh join: n messages, order checked,
// the first one's prev not.
func (v *viewer) collectFresh(room string, n int) []protocol.Message {
	v.fresh[room] = true
	v.last[room] = 0
	return v.collect(room, n)
}
