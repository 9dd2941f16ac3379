// Package protocol holds the danmaku wire contract, version 1: the JSON
// messages exchanged over WebSocket at /ws, the HTTP API bodies, op names,
// nack and error codes, close codes and the validation rules for room names,
// modes, colours and sizes.
//
// It is pure: no I/O, no goroutines. Servers, the Go client and tests import
// it; see docs/protocol.md for the human-readable contract.
package protocol
