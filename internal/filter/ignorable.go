package filter

// isIgnorable reports whether r is a Default_Ignorable_Code_Point (Unicode's
// DerivedCoreProperties.txt): zero-width spaces and joiners, bidi controls,
// the soft hyphen, variation selectors, Hangul fillers, tag characters and
// the like. They render as nothing, so "s\u200bpam" reads as "spam" and
// must match it. The test checks this list against the derivation from the
// standard library's Unicode tables.
//
// It is a switch, not a unicode.RangeTable, because it runs on every
// non-ASCII rune of every message and nearly all runes leave at the first
// comparison.
func isIgnorable(r rune) bool {
	if r < 0x00AD {
		return false
	}
	if r < 0x2000 {
		switch {
		case r == 0x00AD, r == 0x034F, r == 0x061C:
			return true
		case r == 0x115F, r == 0x1160, r == 0x17B4, r == 0x17B5:
			return true
		case 0x180B <= r && r <= 0x180F:
			return true
		}
		return false
	}
	switch {
	case 0x200B <= r && r <= 0x200F: // zero-width space, ZWNJ, ZWJ, LRM, RLM
		return true
	case 0x202A <= r && r <= 0x202E: // bidi embeddings and overrides
		return true
	case 0x2060 <= r && r <= 0x206F: // word joiner, invisible operators, bidi isolates
		return true
	case r == 0x3164, r == 0xFEFF, r == 0xFFA0:
		return true
	case 0xFE00 <= r && r <= 0xFE0F: // variation selectors
		return true
	case 0xFFF0 <= r && r <= 0xFFF8:
		return true
	case 0x1BCA0 <= r && r <= 0x1BCA3:
		return true
	case 0x1D173 <= r && r <= 0x1D17A:
		return true
	case 0xE0000 <= r && r <= 0xE0FFF: // tags and variation selectors supplement
		return true
	}
	return false
}
