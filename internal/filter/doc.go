// Package filter finds the words of an operator's word list in danmaku
// text, to refuse a message (Reject) or to star the words out (Mask).
//
// Words and messages are compared after Normalize: ignorable characters
// removed, NFKC, case folded. So "ＳＰＡＭ", "Spam" and "s\u200bpam" all
// match the word "spam". Words match anywhere in the text, including
// inside longer words; a list meant for whole words only is not what this
// package does.
//
// The search is an Aho–Corasick automaton over the normalized UTF-8 bytes
// (automaton.go), so its cost is linear in the text and does not grow with
// the list. Text that is already normalized, such as lowercase ASCII or
// plain CJK, is searched in place; other text is normalized into pooled
// buffers. Match allocates nothing; Mask allocates only the masked result.
//
// A caller that compares a text in other ways too (the logic tier measures
// its length and spots repeats in the normalized form) normalizes it once
// with NormalizeText, or NormalizeForMask if it will mask, and hands the
// Normalized to MatchNormalized or MaskNormalized.
//
// A Filter is immutable. To reload a list, build a new Filter with Load
// and Store it in the Holder that the readers Load from.
//
// The package has no HTTP, bus or metrics code: the logic tier wires it to
// its send pipeline and decides what a match costs the sender.
package filter
