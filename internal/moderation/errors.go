package moderation

import "errors"

// Sentinel errors. Errors returned by the Store wrap one of these (or an
// error of the NATS client, such as a *jetstream.APIError) with context.
var (
	// ErrClosed is returned by every write called after Close.
	ErrClosed = errors.New("moderation: store closed")
	// ErrInvalidConfig is returned by Open for a Config it cannot honour.
	ErrInvalidConfig = errors.New("moderation: invalid config")
	// ErrInvalidRoom is returned for a room name that is not 1–64 of
	// [A-Za-z0-9_.:-].
	ErrInvalidRoom = errors.New("moderation: invalid room name")
	// ErrInvalidUser is returned for a user id (or a By) that is empty or
	// longer than 128 bytes.
	ErrInvalidUser = errors.New("moderation: invalid user id")
	// ErrInvalidUntil is returned for a mute or ban whose Until has passed.
	ErrInvalidUntil = errors.New("moderation: expiry already past")
	// ErrInvalidReason is returned for a Reason longer than 1024 bytes.
	ErrInvalidReason = errors.New("moderation: reason too long")
	// ErrInvalidSettings is returned by SetRoom for settings out of range.
	ErrInvalidSettings = errors.New("moderation: invalid room settings")
	// ErrWatcherStopped is returned by Open when the KV watcher ends before
	// the bucket is loaded, for example because the connection closed.
	ErrWatcherStopped = errors.New("moderation: watcher stopped")

	// errBadKey reports a bucket key this package did not write.
	errBadKey = errors.New("moderation: unknown key")
)
