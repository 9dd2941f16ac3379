package filter

import (
	"testing"
	"unicode"
)

// TestIgnorableMatchesUnicode checks isIgnorable against the derivation of
// Default_Ignorable_Code_Point in DerivedCoreProperties.txt, computed from
// the standard library's tables, for every code point.
func TestIgnorableMatchesUnicode(t *testing.T) {
	derived := func(r rune) bool {
		if !(unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
			unicode.Is(unicode.Cf, r) ||
			unicode.Is(unicode.Variation_Selector, r)) {
			return false
		}
		switch {
		case unicode.Is(unicode.White_Space, r),
			0xFFF9 <= r && r <= 0xFFFB,   // interlinear annotation
			0x13430 <= r && r <= 0x1345F, // Egyptian hieroglyph format controls
			unicode.Is(unicode.Prepended_Concatenation_Mark, r):
			return false
		}
		return true
	}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if got, want := isIgnorable(r), derived(r); got != want {
			t.Errorf("isIgnorable(%U) = %v, want %v", r, got, want)
		}
	}
}
