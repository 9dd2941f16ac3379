package client

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/danmaku/danmaku/protocol"
)

func TestPermanentFollowsCloseCodeClasses(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&CloseError{Code: protocol.CloseDraining}, false},
		{&CloseError{Code: protocol.CloseSlowConsumer}, false},
		{&CloseError{Code: protocol.CloseHeartbeatTimeout}, false},
		{&CloseError{Code: protocol.CloseOverloaded}, false},
		{&CloseError{Code: protocol.CloseProtocolError}, false},
		{&CloseError{Code: 4499}, false},
		{&CloseError{Code: protocol.CloseUnauthorized}, true},
		{&CloseError{Code: protocol.CloseBanned}, true},
		{&CloseError{Code: 4500}, true},
		{&CloseError{Code: 4999}, true},
		{&CloseError{Code: 1000}, false}, // from the server: it did not ask us to stay away
		{&CloseError{Code: 1006}, false},
		{&CloseError{Code: 1009}, false},
		{fmt.Errorf("write: %w", &CloseError{Code: 4503}), true},
		{errors.New("connection reset by peer"), false},
		{ErrHeartbeatTimeout, false},
		{fmt.Errorf("%w: %w", ErrAuthRefused, &protocol.CodeError{Code: protocol.CodeUnauthorized}), true},
		// A refused rejoin carries a code but must not stop the client.
		{fmt.Errorf("rejoin r: %w", &protocol.CodeError{Code: protocol.CodeForbidden}), false},
	} {
		if got := permanent(tc.err); got != tc.want {
			t.Errorf("permanent(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestCloseErrorRetryAfter(t *testing.T) {
	for reason, want := range map[string]time.Duration{
		"retry=1500":             1500 * time.Millisecond,
		"overloaded retry=250":   250 * time.Millisecond,
		"overloaded; retry=3000": 3 * time.Second,
		"retry=abc":              0,
		"":                       0,
	} {
		if got := (&CloseError{Code: 4013, Reason: reason}).RetryAfter(); got != want {
			t.Errorf("RetryAfter(%q) = %v, want %v", reason, got, want)
		}
	}
}

func TestNackErrorUnwrapsToCodeError(t *testing.T) {
	var err error = fmt.Errorf("send: %w", &NackError{ID: "x1", CodeError: protocol.CodeError{Code: protocol.CodeRateLimited, Message: "slow down", RetryAfter: time.Second}})
	var nack *NackError
	if !errors.As(err, &nack) || nack.Code != protocol.CodeRateLimited || nack.RetryAfter != time.Second || nack.ID != "x1" {
		t.Fatalf("errors.As *NackError: %+v", nack)
	}
	var ce *protocol.CodeError
	if !errors.As(err, &ce) || ce.Code != protocol.CodeRateLimited {
		t.Fatalf("errors.As *protocol.CodeError: %+v", ce)
	}
}
