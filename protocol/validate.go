package protocol

// Limits fixed by the protocol itself. Operator limits (text length, rooms
// per connection, message bytes) live in the server's configuration.
const (
	MaxRoomLen     = 64
	MaxClientIDLen = 64
	MaxTypeLen     = 32
	MaxReplyToLen  = 64
)

// ValidRoom reports whether name is a room name: 1–64 characters of
// [A-Za-z0-9_.:-].
func ValidRoom(name string) bool {
	if len(name) == 0 || len(name) > MaxRoomLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_', c == '.', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// ValidMode reports whether m is a display mode; "" means the default.
func ValidMode(m string) bool {
	switch m {
	case "", ModeScroll, ModeTop, ModeBottom, ModeReverse:
		return true
	}
	return false
}

// ValidSize reports whether s is a size; "" means the default.
func ValidSize(s string) bool {
	switch s {
	case "", SizeSmall, SizeNormal, SizeLarge:
		return true
	}
	return false
}

// ValidColor reports whether c is "#rrggbb" (either case); "" means the
// default.
func ValidColor(c string) bool {
	if c == "" {
		return true
	}
	if len(c) != 7 || c[0] != '#' {
		return false
	}
	for i := 1; i < 7; i++ {
		x := c[i]
		if !(x >= '0' && x <= '9' || x >= 'a' && x <= 'f' || x >= 'A' && x <= 'F') {
			return false
		}
	}
	return true
}

// ValidType reports whether t is a usable message type: 1–32 characters of
// [a-z0-9_.-].
func ValidType(t string) bool {
	if len(t) == 0 || len(t) > MaxTypeLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
