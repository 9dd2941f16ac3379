package filter

import "testing"

// checkNormalized requires the Normalized API to give, for text, exactly
// what Normalize, Match and Mask give.
func checkNormalized(t *testing.T, f *Filter, text string) {
	t.Helper()
	wantMasked, wantChanged := f.Mask(text)
	wantMatch := f.Match(text)
	for _, n := range []Normalized{NormalizeText(text), NormalizeForMask(text)} {
		if n.Original() != text || n.Text() != Normalize(text) {
			t.Fatalf("Normalized(%q) = %q, %q; want the text and %q", text, n.Original(), n.Text(), Normalize(text))
		}
		if got := f.MatchNormalized(n); got != wantMatch {
			t.Fatalf("MatchNormalized(%q) = %v, Match = %v", text, got, wantMatch)
		}
		if masked, changed := f.MaskNormalized(n); masked != wantMasked || changed != wantChanged {
			t.Fatalf("MaskNormalized(%q) = %q, %v; Mask = %q, %v", text, masked, changed, wantMasked, wantChanged)
		}
	}
}

func TestNormalizedAgreesWithMatchAndMask(t *testing.T) {
	f := mustNew(t, "spam", "广告", "ab", "ß", "off", "kg", "a1b", "free money")
	for _, text := range []string{
		"", "no words here", "buy spam now", "SPAM and Spam", "ＳＰＡＭ！", "s\u200bpam",
		"\u200bspam\u200b", "看广告吧", "广\u200d告", "ﬀ ab", "Straße", "STRASSE", "ＡＢ\u0301",
		"xa\u0308bab", "a\xffb ab", "spa\xffm", "cafe\u0301 spam", "oﬀ!", "5㎏ please", "a①b c",
		"ⓐ①ⓑ", "free　money", "\u200b\u200b", "สวัสดีครับ spam",
	} {
		checkNormalized(t, f, text)
	}
	var none *Filter
	if none.MatchNormalized(NormalizeText("spam")) {
		t.Error("a nil Filter matched")
	}
	if masked, changed := none.MaskNormalized(NormalizeForMask("a\xffb")); changed || masked != "a\uFFFDb" {
		t.Errorf("a nil Filter masked %q, %v", masked, changed)
	}
	var zero Normalized
	if zero.Text() != "" || f.MatchNormalized(zero) {
		t.Error("the zero Normalized is not the empty text")
	}
	if masked, changed := f.MaskNormalized(zero); changed || masked != "" {
		t.Errorf("MaskNormalized(zero) = %q, %v", masked, changed)
	}
}

func TestNormalizeTextAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	f := mustNew(t, "spam")
	plain := "a clean message 干净的弹幕"
	if n := testing.AllocsPerRun(100, func() { f.MatchNormalized(NormalizeText(plain)) }); n != 0 {
		t.Errorf("normalizing and matching plain text allocates %v times", n)
	}
	// The normalized string is the only allocation; the buffers are pooled.
	mixed := "ＳＰＡＭ but Mixed Case and ！"
	if n := testing.AllocsPerRun(100, func() { f.MatchNormalized(NormalizeText(mixed)) }); n != 1 {
		t.Errorf("normalizing and matching mixed text allocates %v times, want 1", n)
	}
}

// FuzzNormalized: for any text the Normalized API agrees with Normalize,
// Match and Mask.
func FuzzNormalized(f *testing.F) {
	for _, seed := range []string{"", "spam", "ＳＰＡＭ", "s\u200bpam", "oﬀ", "Straße", "e\u0301", "a\xffb", "①kg㎏"} {
		f.Add(seed)
	}
	filter, err := New(fuzzWords)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkNormalized(t, filter, text)
	})
}
