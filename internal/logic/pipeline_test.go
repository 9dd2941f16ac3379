package logic_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/danmaku/danmaku/internal/filter"
	"github.com/danmaku/danmaku/internal/logic"
	"github.com/danmaku/danmaku/protocol"
)

func wordFilter(t *testing.T, words ...string) *filter.Holder {
	t.Helper()
	f, err := filter.New(words)
	if err != nil {
		t.Fatal(err)
	}
	var h filter.Holder
	h.Store(f)
	return &h
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	ce, ok := err.(*protocol.CodeError)
	switch {
	case code == "" && err != nil:
		t.Fatalf("%s: refused: %v", what, err)
	case code != "" && (!ok || ce.Code != code):
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}

// The send pipeline compares texts in their normalized form at every step:
// the filter, the duplicate check and the length limit. Each case fails if
// its step saw the text as written.
func TestSendChecksNormalizedText(t *testing.T) {
	l, _ := newLogic(t, logic.Config{Filter: wordFilter(t, "spam"), MaxTextRunes: 10})
	const room = "norm"
	for _, c := range []struct {
		what, user, text, code string
	}{
		{"plain word", "a", "a spam", protocol.CodeBlockedContent},
		{"capitals", "b", "a SPAM", protocol.CodeBlockedContent},
		{"full-width", "c", "a ｓｐａｍ", protocol.CodeBlockedContent},
		{"full-width capitals", "d", "ＳＰＡＭ", protocol.CodeBlockedContent},
		{"zero-width inside", "e", "s\u200bp\u200ca\u200dm", protocol.CodeBlockedContent},
		{"first send", "f", "Hi there", ""},
		{"same text in other case", "f", "HI THERE", protocol.CodeDuplicate},
		{"same text full-width", "f", "ｈｉ there", protocol.CodeDuplicate},
		{"same text with zero-width", "f", "h\u200bi there", protocol.CodeDuplicate},
		// 10 runes once the 10 zero-width spaces are gone.
		{"zero-width does not count", "g", strings.Repeat("x\u200b", 10), ""},
		{"too long", "h", strings.Repeat("x", 11), protocol.CodeTooLong},
		// NFKC turns the ligature into two letters: 11 runes.
		{"length after NFKC", "i", "ﬀ" + strings.Repeat("x", 9), protocol.CodeTooLong},
	} {
		_, err := send(t, l, viewer(c.user), room, c.text)
		wantCode(t, c.what, err, c.code)
	}
}

// In mask mode the stars replace the runes as written, however the word
// was disguised, and the duplicate check still sees the unmasked text.
func TestSendMasksNormalizedText(t *testing.T) {
	l, b := newLogic(t, logic.Config{Filter: wordFilter(t, "spam"), FilterMask: true})
	const room = "mask"
	for _, text := range []string{"buy ＳＰＡＭ now", "s\u200bpam!", "Spam"} {
		if _, err := send(t, l, viewer("u"+text), room, text); err != nil {
			t.Fatalf("send %q: %v", text, err)
		}
	}
	_, err := send(t, l, viewer("uSpam"), room, "SPAM")
	wantCode(t, "masked duplicate", err, protocol.CodeDuplicate)

	hist, _, err := b.After(context.Background(), room, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range hist {
		var body protocol.Body
		if err := json.Unmarshal(m.Body, &body); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, body.Text)
	}
	if want := []string{"buy **** now", "*****!", "****"}; strings.Join(texts, "|") != strings.Join(want, "|") {
		t.Fatalf("stored %q, want %q", texts, want)
	}
}
