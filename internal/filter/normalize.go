package filter

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalize returns text in the form in which words and messages are
// compared:
//
//   - default-ignorable code points (zero-width spaces and joiners, bidi
//     controls, variation selectors, …) are removed;
//   - the text is put in Unicode NFKC, which folds full-width and
//     half-width forms, ligatures, circled and styled letters and the like
//     into their plain forms ("ＳＰＡＭ" → "SPAM", "ﬀ" → "ff");
//   - letters are case-folded: every case of a letter becomes one form
//     (Σ, σ, ς → σ; ß → ss; Turkish ı and İ → i);
//   - each invalid UTF-8 byte becomes U+FFFD.
//
// Text that is already in that form, such as lowercase ASCII or plain CJK,
// is returned as is without allocating. A caller that also matches the
// text should use NormalizeText, which keeps the result for the filter.
func Normalize(text string) string { return NormalizeText(text).text }

// segment is the run of original runes, first to last inclusive (indices
// in the caller's text), that produced some bytes of the normalized text.
// NFKC works on a starter and the combining marks after it, so that run is
// the finest unit the output can be traced back to.
type segment struct{ first, last int32 }

// scratch is the working memory of one normalization, pooled (by each
// Filter, and by NormalizeText) so that matching does not allocate.
type scratch struct {
	out    []byte    // the normalized text
	outSeg []int32   // with mapping: the segment of each byte of out
	segs   []segment // with mapping: the segments, in order
	clean  []byte    // slow path: the text without ignorables, invalid bytes replaced
	origin []int32   // slow path: for each byte of clean, the index of its original rune
	spans  []span    // matches found in out
	cover  []int32   // masking: difference array over the original runes
	iter   norm.Iter
}

// maxPooledBytes bounds the scratch buffers a pool keeps, so that one huge
// text does not pin its buffers for good.
const maxPooledBytes = 64 << 10

// reusable reports whether sc is small enough to go back to the pool.
func (sc *scratch) reusable() bool {
	return cap(sc.out) <= maxPooledBytes && cap(sc.clean) <= maxPooledBytes &&
		cap(sc.outSeg) <= maxPooledBytes && cap(sc.origin) <= maxPooledBytes && cap(sc.cover) <= maxPooledBytes
}

// normalize puts Normalize(text) into sc.out. With mapping, it also
// records which original runes each output byte came from.
func (sc *scratch) normalize(text string, mapping bool) {
	if !sc.normalizeRunes(text, mapping) {
		sc.normalizeSegments(text, mapping)
	}
}

// normalizeRunes is the common case: every rune of text normalizes on its
// own, whatever surrounds it (ASCII, full-width ASCII, plain CJK and kana,
// accented Latin, Greek and Cyrillic letters, ignorables). It reports
// false, leaving sc dirty, at the first rune that needs more.
func (sc *scratch) normalizeRunes(text string, mapping bool) bool {
	sc.out, sc.outSeg, sc.segs = sc.out[:0], sc.outSeg[:0], sc.segs[:0]
	rn := int32(0) // index of the current original rune
	for i := 0; i < len(text); rn++ {
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		i += size
		switch {
		case r < utf8.RuneSelf:
			sc.out = append(sc.out, byte(foldASCII(r)))
		case isPlainRune(r), r == utf8.RuneError: // an invalid byte decodes to RuneError too: it becomes U+FFFD
			sc.out = utf8.AppendRune(sc.out, r)
		case 0xFF01 <= r && r <= 0xFF5E: // full-width ASCII: NFKC maps each to one ASCII rune
			sc.out = append(sc.out, byte(foldASCII(r-0xFEE0)))
		case isCasedLetter(r):
			sc.out = appendFolded(sc.out, r)
		case isIgnorable(r):
			continue
		default:
			return false
		}
		if mapping {
			sc.segs = append(sc.segs, segment{first: rn, last: rn})
			for len(sc.outSeg) < len(sc.out) {
				sc.outSeg = append(sc.outSeg, int32(len(sc.segs)-1))
			}
		}
	}
	return true
}

// normalizeSegments is the general path. Ignorables go first, because one
// between a letter and its combining mark would otherwise keep NFKC from
// composing them.
func (sc *scratch) normalizeSegments(text string, mapping bool) {
	sc.stripIgnorables(text)
	if norm.NFKC.QuickSpan(sc.clean) == len(sc.clean) {
		// Most text that reaches this path (Thai, Arabic, Devanagari,
		// accents already composed) is in NFKC already. The quick check
		// is several times cheaper than the iterator. (IsNormal would
		// settle more cases, but allocates on the ones it must settle
		// the slow way; those go to the iterator instead.)
		sc.foldNormal(mapping)
	} else {
		sc.composeSegments(mapping)
	}
}

// stripIgnorables fills sc.clean with text less its ignorables, each
// invalid byte replaced by U+FFFD, and sc.origin with the original rune
// index of each byte of sc.clean.
func (sc *scratch) stripIgnorables(text string) {
	sc.clean, sc.origin = sc.clean[:0], sc.origin[:0]
	rn := int32(0)
	for i := 0; i < len(text); rn++ {
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		if isIgnorable(r) {
			continue
		}
		sc.clean = utf8.AppendRune(sc.clean, r)
		for len(sc.origin) < len(sc.clean) {
			sc.origin = append(sc.origin, rn)
		}
	}
}

// foldNormal case-folds sc.clean, which is in NFKC, into sc.out. With
// mapping, a segment is a starter and the non-starters after it, as
// composeSegments would have them, so that a mask covers a letter's marks
// along with it.
func (sc *scratch) foldNormal(mapping bool) {
	sc.out, sc.outSeg, sc.segs = sc.out[:0], sc.outSeg[:0], sc.segs[:0]
	for i := 0; i < len(sc.clean); {
		r, size := utf8.DecodeRune(sc.clean[i:])
		sc.out = appendFolded(sc.out, r)
		if mapping {
			if len(sc.segs) == 0 || norm.NFKC.Properties(sc.clean[i:]).BoundaryBefore() {
				sc.segs = append(sc.segs, segment{first: sc.origin[i], last: sc.origin[i]})
			} else {
				sc.segs[len(sc.segs)-1].last = sc.origin[i]
			}
			for len(sc.outSeg) < len(sc.out) {
				sc.outSeg = append(sc.outSeg, int32(len(sc.segs)-1))
			}
		}
		i += size
	}
}

// composeSegments puts NFKC(sc.clean), case-folded, into sc.out. norm.Iter
// yields the NFKC form one segment at a time, which is what lets each
// output byte be traced to original runes.
func (sc *scratch) composeSegments(mapping bool) {
	sc.out, sc.outSeg, sc.segs = sc.out[:0], sc.outSeg[:0], sc.segs[:0]
	if len(sc.clean) == 0 {
		return
	}
	// A fresh Iter each time, so that nothing buffered in one left
	// mid-way can leak into the next text.
	sc.iter = norm.Iter{}
	sc.iter.Init(norm.NFKC, sc.clean)
	pos := 0 // start of the current segment in clean
	for !sc.iter.Done() {
		for _, r := range string(sc.iter.Next()) {
			if isIgnorable(r) { // NFKC can produce some, e.g. U+FFA0 → U+1160
				continue
			}
			sc.out = appendFolded(sc.out, r)
		}
		// A rune whose decomposition spans segments (ﬀ → f f) comes out
		// in pieces while Pos stays put; its output joins the segment
		// that ends when Pos moves on.
		end := sc.iter.Pos()
		if end <= pos && !sc.iter.Done() {
			continue
		}
		if mapping {
			switch {
			case end > pos:
				sc.segs = append(sc.segs, segment{first: sc.origin[pos], last: sc.origin[end-1]})
			case len(sc.segs) == 0: // no progress at all; cannot happen, but keep the mapping total
				sc.segs = append(sc.segs, segment{first: sc.origin[0], last: sc.origin[len(sc.origin)-1]})
			}
			for len(sc.outSeg) < len(sc.out) {
				sc.outSeg = append(sc.outSeg, int32(len(sc.segs)-1))
			}
		}
		pos = max(pos, end)
	}
}

// isPlain reports whether Normalize(text) == text because every rune is
// lowercase ASCII or a plain rune. It lets the filter search the caller's
// string itself.
func isPlain(text string) bool {
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isPlainRune(r) { // also catches invalid bytes, decoded as RuneError
			return false
		}
		i += size
	}
	return true
}

// isPlainRune reports whether r is a non-ASCII rune that every step of
// Normalize leaves alone in any context: it has no case, no compatibility
// mapping, and it never composes with the rune before it. The ranges are
// the common scripts and symbols of danmaku; the test checks each rune in
// them against NFKC and the case folding.
func isPlainRune(r rune) bool {
	switch {
	case 0x4E00 <= r && r <= 0x9FFF: // CJK unified ideographs
		return true
	case 0x3400 <= r && r <= 0x4DBF: // CJK extension A
		return true
	case 0xAC00 <= r && r <= 0xD7A3: // Hangul syllables
		return true
	case 0x3041 <= r && r <= 0x3096, 0x30A1 <= r && r <= 0x30FA, r == 0x30FC: // kana, ー
		return true
	case 0x3001 <= r && r <= 0x3002, 0x3008 <= r && r <= 0x3011: // 、。〈〉《》「」『』【】
		return true
	case 0x1F300 <= r && r <= 0x1F64F, 0x1F900 <= r && r <= 0x1F9FF: // pictographs and emoji
		return true
	}
	return false
}

// isCasedLetter reports whether r is a Latin, Greek or Cyrillic letter
// beyond ASCII that NFKC leaves alone in any context, so that it only needs
// case folding. It spares accented names and words the slower segment
// path; the test checks each rune against NFKC.
func isCasedLetter(r rune) bool {
	switch {
	case 0x00C0 <= r && r <= 0x024F: // Latin-1 letters, Latin Extended-A and -B
		// Less the compatibility characters: Ĳ ĳ Ŀ ŀ ŉ ſ and the
		// digraphs Ǆ…ǌ, Ǳ…ǳ.
		return !(r == 0x0132 || r == 0x0133 || r == 0x013F || r == 0x0140 || r == 0x0149 || r == 0x017F ||
			0x01C4 <= r && r <= 0x01CC || 0x01F1 <= r && r <= 0x01F3)
	case r == 0x0386, 0x0388 <= r && r <= 0x03CE: // Greek letters
		return true
	case 0x0400 <= r && r <= 0x0482, 0x048A <= r && r <= 0x04FF: // Cyrillic letters
		return true
	}
	return false
}

// foldASCII lowercases an ASCII letter.
func foldASCII(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// appendFolded appends the case folding of r to dst.
func appendFolded(dst []byte, r rune) []byte {
	if r < utf8.RuneSelf {
		return append(dst, byte(foldASCII(r)))
	}
	if r == 'ß' || r == 'ẞ' { // the one full folding that NFKC does not already cover in practice
		return append(dst, "ss"...)
	}
	return utf8.AppendRune(dst, foldRune(r))
}

// foldRune is simple case folding, computed as lower(upper(r)) from the
// standard library's tables rather than with x/text/cases, whose Caser is
// a stateful Transformer that would have to run per segment. It maps every
// rune of a case orbit to one representative (ς, σ and Σ to σ; ſ to s;
// K to k), which is all matching needs: words and messages are folded
// alike. It also maps Turkish ı and İ to i, which makes a look-alike
// evasion fail.
func foldRune(r rune) rune {
	if 0x0590 <= r && r < 0x10A0 {
		// Hebrew to Myanmar (Arabic, the Indic scripts, Thai, …) have no
		// case: skip two binary searches of the case tables.
		return r
	}
	return unicode.ToLower(unicode.ToUpper(r))
}
