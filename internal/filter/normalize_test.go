package filter

import (
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestNormalize(t *testing.T) {
	cases := map[string]string{
		"":                                   "",
		"hello":                              "hello",
		"Hello WORLD":                        "hello world",
		"ＳＰＡＭ":                               "spam",
		"ｓｐａｍ！":                              "spam!",
		"s\u200bp\u200ca\u200dm\u2060\ufeff": "spam",
		"\u202ehello\u202c":                  "hello",
		"ﬀ":                                  "ff",
		"①②":                                 "12",
		"㎏":                                  "kg",
		"Straße":                             "strasse",
		"ΣΊΣΥΦΟΣ ς":                          "σίσυφοσ σ",
		"ſ K":                                "s k", // long s, Kelvin sign
		"ｶﾞ":                                 "ガ",   // half-width katakana and sound mark compose
		"e\u0301":                            "é",
		"e\u200b\u0301":                      "é", // a zero-width space does not block composition
		"弹幕，好！":                              "弹幕,好!",
		"😀\ufe0f":                            "😀",
		"a\xffb":                             "a\uFFFDb",
		"\u3000x\u00a0":                      " x ",
	}
	for in, want := range cases {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
		if got := Normalize(want); got != want {
			t.Errorf("Normalize is not idempotent on %q: %q", want, got)
		}
	}
}

func TestNormalizePlainIsNotCopied(t *testing.T) {
	for _, text := range []string{"lowercase ascii 123 !?", "弹幕来了、。", "한국어", "ひらがなカタカナー", "😀🤣"} {
		if !isPlain(text) {
			t.Errorf("isPlain(%q) = false", text)
		}
		if n := testing.AllocsPerRun(10, func() { Normalize(text) }); n != 0 {
			t.Errorf("Normalize(%q) allocates %v times", text, n)
		}
	}
	for _, text := range []string{"Upper", "full-width，", "a\u200bb", "bad\xff", "e\u0301"} {
		if isPlain(text) {
			t.Errorf("isPlain(%q) = true", text)
		}
	}
}

// TestPlainRunes checks each rune isPlainRune accepts: normalizing it
// alone or after any starter leaves it unchanged, it has no case, and it is
// not ignorable.
func TestPlainRunes(t *testing.T) {
	checked := 0
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		if !isPlainRune(r) {
			continue
		}
		checked++
		s := string(r)
		props := norm.NFKC.PropertiesString(s)
		if !norm.NFKC.IsNormalString(s) || !props.BoundaryBefore() || props.CCC() != 0 ||
			foldRune(r) != r || isIgnorable(r) || r == 'ß' {
			t.Errorf("%U is not plain", r)
		}
	}
	if checked < 40000 {
		t.Errorf("only %d plain runes", checked)
	}
}

// TestCasedLetters checks each rune isCasedLetter accepts: normalizing it
// alone or after any starter leaves it unchanged, and so does normalizing
// its case folding.
func TestCasedLetters(t *testing.T) {
	checked := 0
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !isCasedLetter(r) {
			continue
		}
		checked++
		folded := string(appendFolded(nil, r))
		for _, s := range []string{string(r), folded} {
			props := norm.NFKC.PropertiesString(s)
			if !norm.NFKC.IsNormalString(s) || !props.BoundaryBefore() || props.CCC() != 0 {
				t.Errorf("%U: %q is not stable under NFKC", r, s)
			}
		}
		if isPlainRune(r) || isIgnorable(r) {
			t.Errorf("%U is both a cased letter and plain or ignorable", r)
		}
	}
	if checked < 700 {
		t.Errorf("only %d cased letters", checked)
	}
}

func TestFoldRune(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		f := foldRune(r)
		if f != unicode.ToLower(unicode.ToUpper(r)) {
			t.Errorf("foldRune(%U) = %U: a shortcut disagrees with the case tables", r, f)
		}
		if foldRune(f) != f {
			t.Errorf("foldRune(%U) = %U, but foldRune(%U) = %U", r, f, f, foldRune(f))
		}
		for o := unicode.SimpleFold(r); o != r; o = unicode.SimpleFold(o) {
			if foldRune(o) != f {
				t.Errorf("foldRune(%U) = %U but foldRune(%U) = %U: one case orbit, two folds", r, f, o, foldRune(o))
			}
		}
	}
}

// TestRunePathAgreesWithSegmentPath checks the per-rune shortcut against
// the full algorithm on texts it accepts. FuzzMask does the same on
// arbitrary text.
func TestRunePathAgreesWithSegmentPath(t *testing.T) {
	for _, text := range []string{"Hello ＷＯＲＬＤ！", "弹幕\u200b，好", "a\xffb", "Crème BRÛLÉE Straße", "ΣΊΣΥΦΟΣ", "Привет МИР", "ｓｐａｍ\ufe0f😀", "MiXeD 한국어 かな"} {
		var sc scratch
		if !sc.normalizeRunes(text, false) {
			t.Errorf("%q takes the segment path", text)
		}
		checkRunePath(t, text)
	}
	for _, text := range []string{"สวัสดีครับ", "مرحبا", "नमस्ते", "xab\u0301", "a\u0323\u0301"} {
		checkRunePath(t, text)
	}
}

// checkRunePath compares the normalization paths on text: the per-rune
// one and the quick-check one, where they accept it, against the
// iterator, in output and in the mapping back to original runes.
func checkRunePath(t *testing.T, text string) {
	t.Helper()
	var full scratch
	full.stripIgnorables(text)
	full.composeSegments(true)
	compare := func(path string, other *scratch) {
		t.Helper()
		if string(other.out) != string(full.out) {
			t.Fatalf("%q: %s path %q, iterator %q", text, path, other.out, full.out)
		}
		for i := range other.out {
			a, b := other.segs[other.outSeg[i]], full.segs[full.outSeg[i]]
			if a != b {
				t.Fatalf("%q: byte %d maps to %v by the %s path, %v by the iterator", text, i, a, path, b)
			}
		}
	}
	var fast scratch
	if fast.normalizeRunes(text, true) {
		compare("rune", &fast)
	}
	var quick scratch
	quick.stripIgnorables(text)
	if norm.NFKC.QuickSpan(quick.clean) == len(quick.clean) {
		quick.foldNormal(true)
		compare("quick-check", &quick)
	}
}
