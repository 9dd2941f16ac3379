package moderation

import (
	"fmt"
	"time"
)

// Mute silences a user in one room or everywhere.
type Mute struct {
	// Room is the room the mute applies to; "" mutes the user everywhere.
	Room string
	// User is the muted user: a platform user id (a token's sub) or a
	// public or guest id. Any 1–128 bytes.
	User string
	// Until is when the mute ends; zero means never.
	Until time.Time
	// Reason is for moderators; at most 1024 bytes. Stored as JSON, so
	// invalid UTF-8 comes back as U+FFFD.
	Reason string
	// By is the moderator who set it; at most 128 bytes, "" if unknown.
	By string
	// At is when the mute was set; Store.Mute fills in a zero At.
	At time.Time
}

// Ban shuts a user out of every room: the gateway closes the user's
// connections (close code 4503) and refuses new ones.
type Ban struct {
	// User is the banned user, as in Mute.User.
	User string
	// Until is when the ban ends; zero means never.
	Until time.Time
	// Reason and By are as in Mute.
	Reason, By string
	// At is when the ban was set; Store.Ban fills in a zero At.
	At time.Time
}

// RoomSettings are a room's moderation settings. The zero value is a room
// with no restrictions, and is what Store.Room returns for a room that has
// none stored.
type RoomSettings struct {
	// SlowModeSeconds lets each user send one message per that many
	// seconds in the room; 0 turns slow mode off. 0–3600.
	SlowModeSeconds int `json:"slow_mode_seconds,omitempty"`
	// Closed rooms accept no sends (nack room_closed).
	Closed bool `json:"closed,omitempty"`
	// MaxTextRunes caps a message's text in the room; 0 means the server's
	// limit. A room may only lower the server's limit, never raise it: use
	// TextLimit. 0–1000.
	MaxTextRunes int `json:"max_text_runes,omitempty"`
}

// Limits of RoomSettings.
const (
	MaxSlowModeSeconds = 3600
	MaxRoomTextRunes   = 1000
)

// TextLimit is the text limit, in runes, of a room on a server whose limit
// is serverMax: the room's MaxTextRunes when it is set and lower, else
// serverMax.
func (rs RoomSettings) TextLimit(serverMax int) int {
	if rs.MaxTextRunes > 0 && rs.MaxTextRunes < serverMax {
		return rs.MaxTextRunes
	}
	return serverMax
}

// SlowMode is the interval slow mode enforces; 0 when it is off.
func (rs RoomSettings) SlowMode() time.Duration {
	return time.Duration(rs.SlowModeSeconds) * time.Second
}

func (rs RoomSettings) validate() error {
	if rs.SlowModeSeconds < 0 || rs.SlowModeSeconds > MaxSlowModeSeconds {
		return fmt.Errorf("%w: SlowModeSeconds %d not in 0–%d", ErrInvalidSettings, rs.SlowModeSeconds, MaxSlowModeSeconds)
	}
	if rs.MaxTextRunes < 0 || rs.MaxTextRunes > MaxRoomTextRunes {
		return fmt.Errorf("%w: MaxTextRunes %d not in 0–%d", ErrInvalidSettings, rs.MaxTextRunes, MaxRoomTextRunes)
	}
	return nil
}

// record is the stored value of a mute or a ban. The room and the user are
// in the key, which is the authority on them: JSON cannot carry arbitrary
// bytes.
type record struct {
	Until  time.Time `json:"until,omitzero"`
	Reason string    `json:"reason,omitempty"`
	By     string    `json:"by,omitempty"`
	At     time.Time `json:"at,omitzero"`
}

// newRecord validates a mute's or a ban's fields at now and returns what to
// store.
func newRecord(until time.Time, reason, by string, at, now time.Time) (record, error) {
	if !until.IsZero() && !until.After(now) {
		return record{}, fmt.Errorf("%w: %s is not after %s", ErrInvalidUntil, until.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	if len(reason) > maxReasonBytes {
		return record{}, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidReason, len(reason), maxReasonBytes)
	}
	if len(by) > maxUserBytes {
		return record{}, fmt.Errorf("%w: By is %d bytes, at most %d", ErrInvalidUser, len(by), maxUserBytes)
	}
	if at.IsZero() {
		at = now
	}
	r := record{Reason: reason, By: by, At: at.UTC()}
	if !until.IsZero() {
		r.Until = until.UTC()
	}
	return r, nil
}

// active reports whether something that ends at until (zero: never) is in
// force at now.
func active(until, now time.Time) bool {
	return until.IsZero() || now.Before(until)
}
