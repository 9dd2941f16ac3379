//go:build linux

package client_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/danmaku/danmaku/client"
	"github.com/danmaku/danmaku/internal/gateway"
	"github.com/danmaku/danmaku/internal/stacktest"
	"github.com/danmaku/danmaku/protocol"
)

// smallBufferClient dials with a tiny socket receive buffer, so that a
// consumer that stops reading backs up into the server within kilobytes
// rather than the megabytes loopback would otherwise absorb.
func smallBufferClient() *http.Client {
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

func TestSlowConsumerIsDisconnectedAndResumesWithoutLoss(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{
		HistorySize: 20000,
		Gateway: gateway.Config{
			MaxPendingBytes:  64 << 10,
			BatchMaxMessages: 20,
			ResumeLimit:      20000,
		},
	})
	hc := smallBufferClient()
	t.Cleanup(hc.CloseIdleConnections)
	c := dial(t, st.WSURL, client.Options{
		HTTPClient:    hc,
		Compression:   client.CompressionDisabled,
		MessageBuffer: 1,
		MinBackoff:    10 * time.Millisecond,
		MaxBackoff:    100 * time.Millisecond,
	})
	ev := newStream(t, c)
	if _, err := c.Join(ctxT(t), "hot"); err != nil {
		t.Fatal(err)
	}

	// Nobody reads Events while the room fills up.
	const total = 16000
	padding := strings.Repeat("x", 90)
	var want []string
	var offsets []uint64
	for batch := range total / 1000 {
		tx := texts(padding+string(rune('a'+batch)), 1000)
		want = append(want, tx...)
		offsets = append(offsets, st.Publish(t, "hot", tx...)...)
	}
	// The server gives up on the connection (4008).
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	for st.Server().Gateway().Connections() > 0 {
		select {
		case <-ctx.Done():
			t.Fatal("the server never disconnected the slow consumer")
		case <-time.After(20 * time.Millisecond):
		}
	}

	got := ev.messages("hot", total)
	checkStream(t, got, want, offsets)
	ev.quiet("hot", 200*time.Millisecond)
	if !ev.sawState(client.StateReconnecting, nil) {
		t.Fatal("no reconnect after the server dropped the connection")
	}
	t.Logf("reconnected because: %v", reconnectCauses(ev.skipped))
	if !ev.sawState(client.StateReconnecting, isCloseCode(protocol.CloseSlowConsumer)) {
		t.Logf("the 4008 close frame was lost with the socket; the client resumed anyway")
	}
}

func reconnectCauses(evs []client.Event) []error {
	var out []error
	for _, ev := range evs {
		if ev.Kind == client.EventState && ev.State == client.StateReconnecting {
			out = append(out, ev.Err)
		}
	}
	return out
}
