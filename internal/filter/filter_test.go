package filter

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func mustNew(t testing.TB, words ...string) *Filter {
	t.Helper()
	f, err := New(words)
	if err != nil {
		t.Fatalf("New(%q): %v", words, err)
	}
	return f
}

func TestMatch(t *testing.T) {
	f := mustNew(t, "spam", "广告", "加微信", "free money", "ﬀ")
	cases := []struct {
		text string
		want bool
	}{
		{"", false},
		{"hello world", false},
		{"buy spam now", true},
		{"spammer", true}, // words match inside other words
		{"spa m", false},
		{"SPAM", true},
		{"Spam", true},
		{"ＳＰＡＭ", true},       // full-width
		{"ｓｐａｍ", true},       // full-width lowercase
		{"s\u200bpam", true}, // zero-width space
		{"s\u200cp\u200da\u2060m\ufeff", true},
		{"sp\u00adam", true}, // soft hyphen
		{"\u202espam", true}, // bidi override
		{"ѕpam", false},      // Cyrillic ѕ is another letter; confusables are not folded
		{"看广告领奖", true},      // CJK
		{"广 告", false},
		{"加\u200b微信", true},
		{"FREE MONEY", true},
		{"free　money", true}, // ideographic space is NFKC space
		{"free  money", false},
		{"off", true}, // "ﬀ" was normalized to "ff"
		{"oﬀ", true},  // and the text is normalized too
		{"spa\xffm spam", true},
		{"spa\xffm", false},
	}
	for _, c := range cases {
		if got := f.Match(c.text); got != c.want {
			t.Errorf("Match(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

func TestMatchCaseOfWords(t *testing.T) {
	f := mustNew(t, "SpAm", "ＢＡＤ", "\u200bugly")
	for _, text := range []string{"spam", "bad", "BAD", "ugly"} {
		if !f.Match(text) {
			t.Errorf("Match(%q) = false; words must be normalized like texts", text)
		}
	}
}

func TestMatchOverlapping(t *testing.T) {
	f := mustNew(t, "abc", "bcd", "cd", "xyz", "y")
	cases := []struct{ text, masked string }{
		{"abcd", "****"},     // abc and bcd overlap
		{"zabcdz", "z****z"}, // with clean text around
		{"xabx", "xabx"},     // a prefix of a word alone is nothing
		{"xyz", "***"},       // y inside xyz
		{"xy", "x*"},         // y alone, after a failed xyz
		{"abcabcd", "*******"},
		{"ab cd", "ab **"},
	}
	for _, c := range cases {
		masked, changed := f.Mask(c.text)
		if masked != c.masked || changed != (c.masked != c.text) {
			t.Errorf("Mask(%q) = %q, %v; want %q", c.text, masked, changed, c.masked)
		}
	}
}

func TestMask(t *testing.T) {
	f := mustNew(t, "spam", "广告", "ab", "ß")
	cases := []struct{ text, masked string }{
		{"no words here", "no words here"},
		{"buy spam now", "buy **** now"},
		{"SPAM and Spam", "**** and ****"},
		{"ＳＰＡＭ！", "****！"},                       // full-width runes are masked, the ！ kept
		{"s\u200bpam", "*****"},                  // the zero-width space inside the word is masked too
		{"\u200bspam\u200b", "\u200b****\u200b"}, // ignorables outside it are kept
		{"看广告吧", "看**吧"},
		{"广\u200d告", "***"},
		{"ﬀ ab", "ﬀ **"},
		{"Straße", "Stra*e"}, // ß folds to ss; the word "ß" is "ss" too
		{"STRASSE", "STRA**E"},
		// A combining mark that does not compose with the letter before it
		// does not hide the word, and goes under the star with its letter.
		{"ＡＢ\u0301", "***"},
		{"xa\u0308b", "xa\u0308b"}, // ä composes: it is another letter
		{"xa\u0308bab", "xa\u0308b**"},
		{"a\xffb ab", "a\uFFFDb **"}, // invalid bytes become U+FFFD, one each
		{"caf\u0065\u0301 spam", "cafe\u0301 ****"},
	}
	for _, c := range cases {
		masked, changed := f.Mask(c.text)
		if masked != c.masked {
			t.Errorf("Mask(%q) = %q, want %q", c.text, masked, c.masked)
		}
		if want := f.Match(c.text); changed != want {
			t.Errorf("Mask(%q) changed = %v, Match = %v", c.text, changed, want)
		}
		if utf8.RuneCountInString(masked) != utf8.RuneCountInString(c.text) {
			t.Errorf("Mask(%q) = %q changes the rune count", c.text, masked)
		}
	}
}

func TestMaskNormalizationChangesLength(t *testing.T) {
	// "ﬀ" normalizes to two letters, "㎏" to "kg", "①" to "1": one original
	// rune stands for several normalized ones, and stars follow the
	// original runes.
	f := mustNew(t, "off", "kg", "a1b")
	cases := []struct{ text, masked string }{
		{"oﬀ!", "**!"},
		{"ﬀ", "ﬀ"},
		{"5㎏ please", "5* please"},
		{"5KG", "5**"},
		{"a①b c", "*** c"},
		{"ⓐ①ⓑ", "***"},
		{"ｏﬀ and off", "** and ***"},
	}
	for _, c := range cases {
		masked, changed := f.Mask(c.text)
		if masked != c.masked || !changed == (c.masked != c.text) {
			t.Errorf("Mask(%q) = %q, %v; want %q", c.text, masked, changed, c.masked)
		}
	}
}

func TestMaskPlainTextIsNotCopied(t *testing.T) {
	f := mustNew(t, "spam")
	text := "a clean message 干净的弹幕"
	masked, changed := f.Mask(text)
	if changed || masked != text {
		t.Fatalf("Mask(%q) = %q, %v", text, masked, changed)
	}
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	if n := testing.AllocsPerRun(100, func() { f.Mask(text) }); n != 0 {
		t.Errorf("Mask of clean text allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { f.Match("ＳＰＡＭ but Mixed Case and ！") }); n != 0 {
		t.Errorf("Match of text that needs normalizing allocates %v times", n)
	}
}

func TestEmptyList(t *testing.T) {
	for _, words := range [][]string{nil, {}, {"", "  ", "# comment", "\u200b", "\t"}} {
		f := mustNew(t, words...)
		if f.Len() != 0 {
			t.Errorf("New(%q).Len() = %d", words, f.Len())
		}
		if f.Match("anything") || f.Match("") {
			t.Errorf("empty filter matched")
		}
		if masked, changed := f.Mask("any\xffthing"); changed || masked != "any\uFFFDthing" {
			t.Errorf("empty filter Mask = %q, %v", masked, changed)
		}
	}
	var nilFilter *Filter
	if nilFilter.Match("x") || nilFilter.Len() != 0 {
		t.Error("nil filter matched")
	}
	if masked, changed := nilFilter.Mask("x"); changed || masked != "x" {
		t.Errorf("nil filter Mask = %q, %v", masked, changed)
	}
}

func TestLen(t *testing.T) {
	f := mustNew(t, "spam", "SPAM", " spam ", "ｓｐａｍ", "# spam", "ham", "", "广告")
	if f.Len() != 3 {
		t.Errorf("Len() = %d, want 3 (spam, ham, 广告)", f.Len())
	}
}

func TestNewRejects(t *testing.T) {
	for _, words := range [][]string{
		{"ok", "bad\xff"},
		{strings.Repeat("x", MaxWordBytes+1)},
	} {
		if _, err := New(words); !errors.Is(err, ErrInvalidWord) {
			t.Errorf("New(%.20q…) error = %v, want ErrInvalidWord", words, err)
		}
	}
	if _, err := New([]string{strings.Repeat("x", MaxWordBytes)}); err != nil {
		t.Errorf("a word of MaxWordBytes: %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "words.txt")
	list := "\uFEFF# banned words\r\nspam\r\n\r\n  广告  \n#not a word\nＦＯＯ"
	if err := os.WriteFile(path, []byte(list), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 3 {
		t.Errorf("Len() = %d, want 3", f.Len())
	}
	for text, want := range map[string]bool{"spam": true, "广告": true, "foo": true, "# banned words": false, "not a word": false} {
		if f.Match(text) != want {
			t.Errorf("Match(%q) = %v", text, !want)
		}
	}

	if _, err := Load(filepath.Join(dir, "missing.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v", err)
	}
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("ok\nbad\xfe\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); !errors.Is(err, ErrInvalidWord) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("Load(bad) = %v, want ErrInvalidWord at line 2", err)
	}
}

func TestHolderReload(t *testing.T) {
	var h Holder
	if h.Load() != nil || h.Load().Match("spam") {
		t.Fatal("zero Holder must hold nil, which matches nothing")
	}
	h.Store(mustNew(t, "spam"))
	old := h.Load()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				f := h.Load()
				f.Match("spam ham")
				f.Mask("spam ham")
			}
		}()
	}
	h.Store(mustNew(t, "ham"))
	wg.Wait()
	if h.Load().Match("spam") || !h.Load().Match("ham") {
		t.Error("Store did not replace the list")
	}
	if !old.Match("spam") {
		t.Error("a Filter loaded before the reload must keep its list")
	}
	h.Store(nil)
	if h.Load().Match("ham") {
		t.Error("Store(nil) must disable filtering")
	}
}

func TestMode(t *testing.T) {
	var zero Mode
	if zero != Reject {
		t.Error("the zero Mode must be Reject")
	}
	for _, m := range []Mode{Reject, Mask} {
		text, err := m.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Mode
		if err := back.UnmarshalText(text); err != nil || back != m {
			t.Errorf("round trip of %v: %v, %v", m, back, err)
		}
	}
	if _, err := ParseMode("drop"); !errors.Is(err, ErrUnknownMode) {
		t.Errorf("ParseMode(drop) = %v", err)
	}
	if _, err := Mode(7).MarshalText(); !errors.Is(err, ErrUnknownMode) {
		t.Errorf("MarshalText(7) = %v", err)
	}
	if Mode(7).String() != "Mode(7)" {
		t.Error(Mode(7).String())
	}
}
