package filter

import "fmt"

// Mode says what to do with a message that contains a word. The zero Mode
// is Reject, the safe choice when nothing is configured.
type Mode int

const (
	// Reject refuses the message (nack code blocked_content).
	Reject Mode = iota
	// Mask delivers the message with the words starred out (Filter.Mask).
	Mask
)

// String returns "reject" or "mask".
func (m Mode) String() string {
	switch m {
	case Reject:
		return "reject"
	case Mask:
		return "mask"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode parses "reject" or "mask", as String writes them.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "reject":
		return Reject, nil
	case "mask":
		return Mask, nil
	}
	return Reject, fmt.Errorf("%w %q (want reject or mask)", ErrUnknownMode, s)
}

// MarshalText implements encoding.TextMarshaler.
func (m Mode) MarshalText() ([]byte, error) {
	if m != Reject && m != Mask {
		return nil, fmt.Errorf("%w %d", ErrUnknownMode, int(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler, so a Mode can be a
// config or flag value.
func (m *Mode) UnmarshalText(text []byte) error {
	mode, err := ParseMode(string(text))
	if err != nil {
		return err
	}
	*m = mode
	return nil
}
