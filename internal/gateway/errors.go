package gateway

import "errors"

var (
	errRoomClosed = errors.New("gateway: room closed")
	// ErrClosed is returned by Start after Close.
	ErrClosed = errors.New("gateway: closed")
)
