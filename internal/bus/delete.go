package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNotFound is returned by Delete when the room has no message at the
// offset.
var ErrNotFound = errors.New("bus: no such message in the room")

// Delete removes the message at offset from room's history (moderation).
// Live viewers already received it; the caller announces the deletion with
// a delete message so that clients remove it from screen. Resumes across a
// deleted offset are answered conservatively (recovered:false), never with
// a silent gap.
func (b *Bus) Delete(ctx context.Context, room string, offset uint64) error {
	if err := b.usable(); err != nil {
		return err
	}
	ref, err := b.parts.locate(room)
	if err != nil {
		return err
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	stream, err := b.js.Stream(ctx, ref.part.stream)
	if err != nil {
		return fmt.Errorf("bus: delete: %w", err)
	}
	msg, err := stream.GetMsg(ctx, offset)
	if errors.Is(err, jetstream.ErrMsgNotFound) || err == nil && msg.Subject != ref.subject {
		return fmt.Errorf("%w: %q at %d", ErrNotFound, room, offset)
	}
	if err != nil {
		return fmt.Errorf("bus: delete: %w", err)
	}
	if err := stream.DeleteMsg(ctx, offset); err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("%w: %q at %d", ErrNotFound, room, offset)
		}
		return fmt.Errorf("bus: delete: %w", err)
	}
	return nil
}
