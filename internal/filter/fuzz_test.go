package filter

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzWords share letters and overlap, and some change length or compose
// under normalization, so that random text exercises the mapping.
var fuzzWords = []string{"spam", "广告", "ff", "ss", "kg", "aa", "ab", "ba", "σ", "é", "1", "ガ"}

// FuzzMask checks Mask's promises on any input: no panic, valid UTF-8, the
// same rune count, stars only where runes were, changed == Match, and
// Match equal to a plain substring search of the normalized text.
func FuzzMask(f *testing.F) {
	for _, seed := range []string{
		"", "spam", "ＳＰＡＭ", "s\u200bpam", "oﬀ", "Straße", "ΣΑΣ", "e\u0301", "ｶﾞ",
		"看广告", "a\xffb", "①kg㎏", "aab\u0301a", "\u0301\u0301", "ﬃ\u200d", "a\u0308\u0323",
	} {
		f.Add(seed)
	}
	filter, err := New(fuzzWords)
	if err != nil {
		f.Fatal(err)
	}
	normalized := make([]string, len(fuzzWords))
	for i, w := range fuzzWords {
		normalized[i] = Normalize(w)
	}
	f.Fuzz(func(t *testing.T, text string) {
		masked, changed := filter.Mask(text)
		if !utf8.ValidString(masked) {
			t.Fatalf("Mask(%q) = %q is not valid UTF-8", text, masked)
		}
		if n, m := utf8.RuneCountInString(text), utf8.RuneCountInString(masked); n != m {
			t.Fatalf("Mask(%q) = %q: %d runes became %d", text, masked, n, m)
		}
		match := filter.Match(text)
		if changed != match {
			t.Fatalf("Mask(%q) changed = %v, Match = %v", text, changed, match)
		}
		norm := Normalize(text)
		want := false
		for _, w := range normalized {
			want = want || strings.Contains(norm, w)
		}
		if match != want {
			t.Fatalf("Match(%q) = %v, but Normalize gives %q", text, match, norm)
		}
		if !changed && masked != validUTF8(text) {
			t.Fatalf("Mask(%q) = %q changed the text but reports no change", text, masked)
		}
		orig, out := []rune(text), []rune(masked)
		for i := range orig {
			if out[i] != orig[i] && out[i] != maskRune && out[i] != utf8.RuneError {
				t.Fatalf("Mask(%q) = %q: rune %d changed to something other than a star", text, masked, i)
			}
		}
		if again := Normalize(norm); again != norm {
			t.Fatalf("Normalize is not idempotent on %q: %q then %q", text, norm, again)
		}
		checkRunePath(t, text)
	})
}
