package filter

import (
	"strings"
	"unicode/utf8"
)

// maskRune replaces each rune of a masked word.
const maskRune = '*'

// Mask returns text with every word replaced by '*', one per original rune,
// and reports whether it replaced anything; changed == f.Match(text).
//
// Matching runs on the normalized text, but the stars replace the runes of
// the original text that produced each match: "ＳＰＡＭ" becomes "****",
// "s\u200bpam" becomes "*****" (the zero-width space inside the word is
// masked too), and a ligature that normalizes to two letters is one star.
// So the result has exactly as many runes as text, and everything outside
// the words is kept as written. Each invalid UTF-8 byte becomes U+FFFD,
// whether or not anything was masked, so the result is always valid UTF-8.
func (f *Filter) Mask(text string) (masked string, changed bool) {
	if f == nil || f.ac == nil {
		return validUTF8(text), false
	}
	sc := f.getScratch()
	defer f.putScratch(sc)
	if isPlain(text) {
		return sc.maskPlain(f.ac, text)
	}
	sc.normalize(text, true)
	return maskMapped(sc, f.ac, text, sc.out, sc.segs, sc.outSeg)
}

// maskPlain masks text that is its own normalized form. Normalized and
// original text are the same bytes, and matches start and end on rune
// boundaries, so the spans index text.
func (sc *scratch) maskPlain(a *automaton, text string) (string, bool) {
	sc.spans = appendMatches(a, text, sc.spans[:0])
	if len(sc.spans) == 0 {
		return text, false
	}
	cover := sc.resetCover(len(text) + 1)
	for _, s := range sc.spans {
		cover[s.start]++
		cover[s.end]--
	}
	return render(text, cover, true), true
}

// maskMapped masks text given its normalized form norm and the mapping
// from each byte of norm (outSeg) to the segment of original runes it came
// from (segs). norm is the scratch's own buffer when Mask normalized it, a
// Normalized's string otherwise.
func maskMapped[T text](sc *scratch, a *automaton, text string, norm T, segs []segment, outSeg []int32) (string, bool) {
	sc.spans = appendMatches(a, norm, sc.spans[:0])
	if len(sc.spans) == 0 {
		return validUTF8(text), false
	}
	cover := sc.resetCover(utf8.RuneCountInString(text) + 1)
	for _, s := range sc.spans {
		// Cover every original rune from the first segment of the match
		// to the last, ignorables between them included.
		first := segs[outSeg[s.start]].first
		last := segs[outSeg[s.end-1]].last
		cover[first]++
		cover[last+1]--
	}
	return render(text, cover, false), true
}

// resetCover returns sc.cover resized to n zeros.
func (sc *scratch) resetCover(n int) []int32 {
	if cap(sc.cover) < n {
		sc.cover = make([]int32, n)
	}
	sc.cover = sc.cover[:n]
	clear(sc.cover)
	return sc.cover
}

// render writes text with the covered runes replaced by maskRune. cover is
// a difference array: a rune is covered while the running sum is positive.
// It is indexed by byte offset when byBytes, else by rune index.
func render(text string, cover []int32, byBytes bool) string {
	var b strings.Builder
	b.Grow(len(text))
	depth := int32(0)
	for i, rn := 0, 0; i < len(text); rn++ {
		if byBytes {
			depth += cover[i] // matches begin and end at rune starts only
		} else {
			depth += cover[rn]
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case depth > 0:
			b.WriteByte(maskRune)
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteString(text[i : i+size])
		}
		i += size
	}
	return b.String()
}

// validUTF8 returns text with each invalid byte replaced by U+FFFD. Unlike
// strings.ToValidUTF8 it replaces byte by byte, keeping the rune count.
func validUTF8(text string) string {
	if utf8.ValidString(text) {
		return text
	}
	var b strings.Builder
	b.Grow(len(text) + 8)
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(text[i : i+size])
		}
		i += size
	}
	return b.String()
}
