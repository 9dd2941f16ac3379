package protocol

import (
	"fmt"
	"time"
)

// CodeError is an error that reaches a client: a nack or error code from
// this package, a human-readable message, and for rate limits how long to
// wait before retrying.
type CodeError struct {
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *CodeError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%s: %s (retry after %s)", e.Code, e.Message, e.RetryAfter)
	}
	return e.Code + ": " + e.Message
}

// Errorf builds a CodeError.
func Errorf(code, format string, args ...any) *CodeError {
	return &CodeError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// NackFor returns the nack reply for a send with client id that failed with e.
func (e *CodeError) NackFor(id string) Nack {
	n := Nack{Op: OpNack, ID: id, Code: e.Code, Message: e.Message}
	if e.RetryAfter > 0 {
		n.RetryAfterMs = e.RetryAfter.Milliseconds()
		if n.RetryAfterMs == 0 {
			n.RetryAfterMs = 1
		}
	}
	return n
}
