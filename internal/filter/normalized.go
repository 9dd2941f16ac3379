package filter

import (
	"slices"
	"sync"
)

// Normalized is a text together with its normalized form (see Normalize),
// so that a caller that compares a message in several ways — its length,
// whether it repeats an earlier one, whether it holds a word — normalizes
// it once. A text prepared with NormalizeForMask also remembers which
// original runes each normalized byte came from, which MaskNormalized
// needs to star out the runes as written. The zero value is the empty
// text.
type Normalized struct {
	original string
	text     string // Normalize(original)
	// plain: text == original, and every byte of text is the byte of
	// original at the same offset, so match spans index original directly
	// (the fast path of Mask). isPlain decides it; equal strings are not
	// enough, because a mark that does not compose shares its letter's
	// segment and is masked with it.
	plain bool
	// With mapping (NormalizeForMask, and only when not plain).
	mapped bool
	segs   []segment
	outSeg []int32
}

// NormalizeText normalizes text for MatchNormalized and for comparisons of
// the caller's own. Text that is already normalized is kept as is, without
// allocating.
func NormalizeText(text string) Normalized { return normalizeText(text, false) }

// NormalizeForMask is NormalizeText plus the mapping back to the original
// runes that MaskNormalized needs. It costs two more allocations for text
// that is not already normalized, so callers that only match should use
// NormalizeText.
func NormalizeForMask(text string) Normalized { return normalizeText(text, true) }

// normScratch pools the working memory of NormalizeText. Filters keep
// pools of their own for matching; normalizing needs no Filter.
var normScratch sync.Pool

func normalizeText(text string, mapping bool) Normalized {
	if isPlain(text) {
		return Normalized{original: text, text: text, plain: true}
	}
	sc, _ := normScratch.Get().(*scratch)
	if sc == nil {
		sc = new(scratch)
	}
	sc.normalize(text, mapping)
	n := Normalized{original: text, text: string(sc.out)}
	if mapping {
		// Copies, since sc goes back to the pool.
		n.mapped, n.segs, n.outSeg = true, slices.Clone(sc.segs), slices.Clone(sc.outSeg)
	}
	if sc.reusable() {
		normScratch.Put(sc)
	}
	return n
}

// Original returns the text as it was given.
func (n Normalized) Original() string { return n.original }

// Text returns the normalized text, Normalize(n.Original()).
func (n Normalized) Text() string { return n.text }

// MatchNormalized is Match(n.Original()) without normalizing again.
func (f *Filter) MatchNormalized(n Normalized) bool {
	if f == nil || f.ac == nil {
		return false
	}
	return contains(f.ac, n.text)
}

// MaskNormalized is Mask(n.Original()) without normalizing again, if n
// came from NormalizeForMask. From NormalizeText, a text that needed
// normalizing is normalized again to get the mapping; the result is the
// same.
func (f *Filter) MaskNormalized(n Normalized) (masked string, changed bool) {
	if f == nil || f.ac == nil {
		return validUTF8(n.original), false
	}
	if !n.plain && !n.mapped {
		return f.Mask(n.original)
	}
	sc := f.getScratch()
	defer f.putScratch(sc)
	if n.plain {
		return sc.maskPlain(f.ac, n.original)
	}
	return maskMapped(sc, f.ac, n.original, n.text, n.segs, n.outSeg)
}
