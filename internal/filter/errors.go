package filter

import "errors"

// Sentinel errors.
var (
	// ErrInvalidWord is returned by New and Load for a word list entry
	// that is not valid UTF-8 or is too long.
	ErrInvalidWord = errors.New("filter: invalid word")
	// ErrUnknownMode is returned by ParseMode for a name that is not a Mode.
	ErrUnknownMode = errors.New("filter: unknown mode")
)
