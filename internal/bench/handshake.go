package bench

import (
	"bytes"
	crand "crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"

	"github.com/danmaku/danmaku/protocol"
)

// The load generator speaks just enough WebSocket for a viewer: one upgrade
// request, built once per worker, and masked client frames. The server's
// frames are parsed in viewer.go. Keeping this by hand, on a raw nbio
// connection, is what lets a worker bind each connection to its own source
// address (nbio's websocket Dialer has no LocalAddr) and keeps a viewer at a
// few hundred bytes.

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

var errHandshake = errors.New("websocket handshake refused")

// upgrade is a prepared upgrade request and the accept value it expects.
type upgrade struct {
	request []byte
	accept  string
}

func newUpgrade(wsURL string, deflate bool) (*upgrade, string, error) {
	u, err := url.Parse(wsURL)
	if err != nil {
		return nil, "", err
	}
	if u.Scheme != "ws" {
		return nil, "", fmt.Errorf("bench: viewer URL %q: only ws:// is supported", wsURL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	var nonce [16]byte
	_, _ = crand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	sum := sha1.Sum([]byte(key + wsGUID))
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\n" +
		"Host: " + u.Host + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Protocol: " + protocol.Subprotocol + "\r\n"
	if deflate {
		// What browsers offer; the server answers with both no-context-takeover
		// parameters, so every message inflates on its own.
		req += "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n"
	}
	req += "\r\n"
	return &upgrade{request: []byte(req), accept: base64.StdEncoding.EncodeToString(sum[:])}, host, nil
}

// do sends the upgrade request on c and reads the answer. It returns the
// bytes read past the answer's headers (the start of the first frame, if
// the server sent one already), and whether the server agreed to
// permessage-deflate.
func (up *upgrade) do(c net.Conn) (rest []byte, deflate bool, err error) {
	if _, err := c.Write(up.request); err != nil {
		return nil, false, err
	}
	var buf [1024]byte
	n := 0
	for {
		m, err := c.Read(buf[n:])
		n += m
		if end := bytes.Index(buf[:n], []byte("\r\n\r\n")); end >= 0 {
			deflate, err := up.check(buf[:end])
			if err != nil {
				return nil, false, err
			}
			return bytes.Clone(buf[end+4 : n]), deflate, nil
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, false, err
		}
		if n == len(buf) {
			return nil, false, fmt.Errorf("%w: headers longer than %d bytes", errHandshake, len(buf))
		}
	}
}

// check reads the answer's headers: an error unless it is a 101 with the
// right accept value, and whether it agreed to permessage-deflate.
func (up *upgrade) check(head []byte) (deflate bool, err error) {
	lines := bytes.Split(head, []byte("\r\n"))
	if !bytes.HasPrefix(lines[0], []byte("HTTP/1.1 101")) {
		return false, fmt.Errorf("%w: %s", errHandshake, lines[0])
	}
	accepted := false
	for _, l := range lines[1:] {
		name, value, ok := bytes.Cut(l, []byte(":"))
		switch {
		case !ok:
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Accept")):
			if string(bytes.TrimSpace(value)) != up.accept {
				return false, fmt.Errorf("%w: wrong Sec-WebSocket-Accept", errHandshake)
			}
			accepted = true
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Extensions")):
			ext, _, _ := bytes.Cut(value, []byte(";"))
			deflate = deflate || bytes.EqualFold(bytes.TrimSpace(ext), []byte("permessage-deflate"))
		}
	}
	if !accepted {
		return false, fmt.Errorf("%w: no Sec-WebSocket-Accept", errHandshake)
	}
	return deflate, nil
}

// WebSocket opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
	rsv1           = 0x40 // permessage-deflate: the message is compressed
)

// clientFrame builds a masked, final frame (clients must mask).
func clientFrame(op byte, payload []byte) []byte {
	n := len(payload)
	b := make([]byte, 0, 14+n)
	b = append(b, 0x80|op)
	switch {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], rand.Uint32())
	b = append(b, mask[:]...)
	start := len(b)
	b = append(b, payload...)
	for i := range n {
		b[start+i] ^= mask[i&3]
	}
	return b
}

// frameHeader parses a server frame header at the start of b. It returns
// ok=false when b does not yet hold the whole header. op carries the RSV1
// bit (rsv1) of a compressed message.
func frameHeader(b []byte) (fin bool, op byte, headerLen int, payloadLen uint64, ok bool) {
	if len(b) < 2 {
		return false, 0, 0, 0, false
	}
	fin = b[0]&0x80 != 0
	op = b[0] & (0x0f | rsv1)
	masked := b[1]&0x80 != 0
	l := uint64(b[1] & 0x7f)
	h := 2
	switch l {
	case 126:
		if len(b) < 4 {
			return false, 0, 0, 0, false
		}
		l = uint64(binary.BigEndian.Uint16(b[2:]))
		h = 4
	case 127:
		if len(b) < 10 {
			return false, 0, 0, 0, false
		}
		l = binary.BigEndian.Uint64(b[2:])
		h = 10
	}
	if masked { // servers do not mask; tolerate it anyway
		h += 4
		if len(b) < h {
			return false, 0, 0, 0, false
		}
	}
	return fin, op, h, l, true
}
