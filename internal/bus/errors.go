package bus

import "errors"

// Sentinel errors. Errors returned by the Bus wrap one of these (or an error
// of the NATS client, such as a *jetstream.APIError) with context.
var (
	// ErrClosed is returned by every method called after Close, and by
	// calls that were still waiting when Close began.
	ErrClosed = errors.New("bus: closed")
	// ErrInvalidRoom is returned for a room name that is not 1–64 of
	// [A-Za-z0-9_.:-]. Callers validate names first; this guards the subject
	// mapping, which relies on that alphabet.
	ErrInvalidRoom = errors.New("bus: invalid room name")
	// ErrInvalidUser is returned for an empty user id.
	ErrInvalidUser = errors.New("bus: invalid user id")
	// ErrInvalidRecord is returned by Append for a record whose metadata
	// would not read back as written: a Type that is not a protocol type
	// name, or a negative TS.
	ErrInvalidRecord = errors.New("bus: invalid record metadata")
	// ErrInvalidConfig is returned by Open for a Config it cannot honour.
	ErrInvalidConfig = errors.New("bus: invalid config")
	// ErrPartitionsChanged is returned by Open when the history it finds
	// was laid out with another Config.Partitions: reading it with this one
	// would look for rooms in the wrong streams. The message names both
	// counts and the ways forward.
	ErrPartitionsChanged = errors.New("bus: history partitions changed")
	// ErrServerNotReady is returned by Open when the embedded NATS server
	// does not accept connections in time.
	ErrServerNotReady = errors.New("bus: embedded NATS server not ready")
	// ErrNoStream is returned when no JetStream stream answers for a room's
	// subject: the stream was deleted, or JetStream is unavailable.
	ErrNoStream = errors.New("bus: no stream answered")
	// ErrBadReply is returned when the NATS server answers in a form this
	// package does not understand (a malformed ack or direct-get reply).
	ErrBadReply = errors.New("bus: unexpected reply from NATS")
)
