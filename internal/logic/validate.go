package logic

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/danmaku/danmaku/internal/filter"
	"github.com/danmaku/danmaku/protocol"
)

// validate checks a body's fields and tidies its text. Texts are measured,
// compared for repeats and filtered in their normalized form (NFKC,
// case-folded, zero-width characters removed); validate returns the tidied
// text normalized by normalize, filter.NormalizeText or, if the text may
// be masked, filter.NormalizeForMask, so that the caller's later checks
// need not normalize it again. Errors are *protocol.CodeError with code
// bad_request or too_long.
func (l *Logic) validate(b *protocol.Body, maxRunes int, normalize func(string) filter.Normalized) (filter.Normalized, *protocol.CodeError) {
	var text filter.Normalized
	if b.Type == "" {
		b.Type = protocol.TypeDanmaku
	}
	if !protocol.ValidType(b.Type) {
		return text, protocol.Errorf(protocol.CodeBadRequest, "type must be 1–32 characters of [a-z0-9_.-]")
	}
	if !utf8.ValidString(b.Text) {
		return text, protocol.Errorf(protocol.CodeBadRequest, "text is not valid UTF-8")
	}
	b.Text = cleanText(b.Text)
	if b.Type == protocol.TypeDanmaku && b.Text == "" {
		return text, protocol.Errorf(protocol.CodeBadRequest, "text is empty")
	}
	text = normalize(b.Text)
	if n := utf8.RuneCountInString(text.Text()); n > maxRunes {
		return text, protocol.Errorf(protocol.CodeTooLong, "text has %d characters; the limit is %d", n, maxRunes)
	}
	if !protocol.ValidMode(b.Mode) {
		return text, protocol.Errorf(protocol.CodeBadRequest, "mode must be scroll, top, bottom or reverse")
	}
	if !protocol.ValidColor(b.Color) {
		return text, protocol.Errorf(protocol.CodeBadRequest, "color must be #rrggbb")
	}
	if !protocol.ValidSize(b.Size) {
		return text, protocol.Errorf(protocol.CodeBadRequest, "size must be small, normal or large")
	}
	if b.VideoTimeMs != nil && *b.VideoTimeMs < 0 {
		return text, protocol.Errorf(protocol.CodeBadRequest, "videoTimeMs must not be negative")
	}
	if len(b.ReplyTo) > protocol.MaxReplyToLen {
		return text, protocol.Errorf(protocol.CodeBadRequest, "replyTo is longer than %d bytes", protocol.MaxReplyToLen)
	}
	if b.User != nil {
		if err := validUser(b.User); err != nil {
			return text, err
		}
	}
	if len(b.Data) > 0 && !bytes.Equal(b.Data, []byte("null")) {
		if len(b.Data) > l.cfg.MaxDataBytes {
			return text, protocol.Errorf(protocol.CodeBadRequest, "data is larger than %d bytes", l.cfg.MaxDataBytes)
		}
		data, ok := compactObject(b.Data)
		if !ok {
			return text, protocol.Errorf(protocol.CodeBadRequest, "data must be a JSON object")
		}
		b.Data = data
	}
	return text, nil
}

func validUser(u *protocol.User) *protocol.CodeError {
	if u.ID == "" || len(u.ID) > 128 || !utf8.ValidString(u.ID) {
		return protocol.Errorf(protocol.CodeBadRequest, "user.id must be 1–128 bytes of UTF-8")
	}
	if utf8.RuneCountInString(u.Name) > 64 || !utf8.ValidString(u.Name) {
		return protocol.Errorf(protocol.CodeBadRequest, "user.name must be at most 64 characters")
	}
	switch u.Role {
	case "", protocol.RoleViewer, protocol.RoleModerator, protocol.RoleAdmin, protocol.RoleGuest, "system":
	default:
		return protocol.Errorf(protocol.CodeBadRequest, "user.role must be viewer, moderator, admin, guest or system")
	}
	return nil
}

// cleanText makes text fit one line of a danmaku: control characters
// (newlines included) become spaces, and surrounding space is trimmed.
func cleanText(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, s)
	}
	return strings.TrimSpace(s)
}

// compactObject returns data without insignificant whitespace, and whether
// it is one valid JSON object. Data without a whitespace byte is compact
// already and is only validated; either way it is one scan, with no decode.
func compactObject(data []byte) (json.RawMessage, bool) {
	if bytes.ContainsAny(data, " \t\r\n") {
		var buf bytes.Buffer
		if json.Compact(&buf, data) != nil {
			return nil, false
		}
		data = buf.Bytes()
	} else if !json.Valid(data) {
		return nil, false
	}
	return data, data[0] == '{'
}
