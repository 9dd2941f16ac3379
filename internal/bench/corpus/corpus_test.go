package corpus_test

import (
	"math"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/danmaku/danmaku/internal/bench/corpus"
)

const n = 50_000

func TestTextsAreDeterministicPerSeed(t *testing.T) {
	a, b, other := corpus.New(7), corpus.New(7), corpus.New(8)
	differ := 0
	for i := range uint64(2000) {
		if a.Text(i) != b.Text(i) {
			t.Fatalf("text %d: %q and %q from the same seed", i, a.Text(i), b.Text(i))
		}
		if a.Text(i) != other.Text(i) {
			differ++
		}
	}
	// Short memes coincide across seeds now and then; most texts do not.
	if differ < 1500 {
		t.Errorf("seeds 7 and 8 differ in %d of 2000 texts", differ)
	}
}

func TestTextsHaveTheDocumentedShape(t *testing.T) {
	c := corpus.New(1)
	kinds := map[corpus.Kind]int{}
	distinct := map[string]bool{}
	var echoes, runes, bytes, han, latin, emoji int
	for i := range uint64(n) {
		s, k, echo := c.TextKind(i)
		if s != c.Text(i) {
			t.Fatalf("TextKind(%d) = %q, Text = %q", i, s, c.Text(i))
		}
		r := utf8.RuneCountInString(s)
		if !utf8.ValidString(s) || r < corpus.MinRunes || r > corpus.MaxRunes {
			t.Fatalf("text %d %q: %d runes, valid UTF-8 %v", i, s, r, utf8.ValidString(s))
		}
		if strings.ContainsAny(s, "\"\\") || strings.IndexFunc(s, unicode.IsControl) >= 0 || s != strings.TrimSpace(s) {
			t.Fatalf("text %d %q has quotes, backslashes, control characters or outer spaces", i, s)
		}
		runes += r
		bytes += len(s)
		distinct[s] = true
		if echo {
			echoes++
		} else {
			kinds[k]++
		}
		switch {
		case strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0:
			han++
		case strings.IndexFunc(s, func(r rune) bool { return r < utf8.RuneSelf && unicode.IsLetter(r) }) >= 0:
			latin++
		}
		if strings.IndexFunc(s, func(r rune) bool { return r >= 0x1F300 }) >= 0 {
			emoji++
		}
	}
	if share := float64(echoes) / n; math.Abs(share-corpus.EchoShare) > 0.01 {
		t.Errorf("%.3f of the texts are echoes, want %.2f", share, corpus.EchoShare)
	}
	var total float64
	for _, k := range corpus.Kinds {
		total += k.Share
		got := float64(kinds[k.Kind]) / float64(n-echoes)
		if math.Abs(got-k.Share) > 0.01 {
			t.Errorf("%s: %.3f of the texts, want %.2f", k.Name, got, k.Share)
		}
	}
	if math.Abs(total-1) > 1e-9 {
		t.Errorf("the kinds' shares add up to %v", total)
	}
	// The package doc and docs/benchmarks.md quote these.
	if mean := float64(runes) / n; mean < 7 || mean > 10 {
		t.Errorf("mean %.1f runes per text, documented as about 8", mean)
	}
	if mean := float64(bytes) / n; mean < 18 || mean > 23 {
		t.Errorf("mean %.1f bytes per text, documented as about 20", mean)
	}
	// Memes and reactions repeat by design (real rooms do); sentences
	// and numbers do not.
	if len(distinct) < n/6 {
		t.Errorf("%d distinct texts in %d: not varied", len(distinct), n)
	}
	if han < n/2 || latin < n/20 || emoji < n/20 {
		t.Errorf("of %d texts %d are Chinese, %d Latin only, %d have emoji", n, han, latin, emoji)
	}
	for _, meme := range []string{"2333", "哈哈哈", "666"} {
		if c := countPrefix(c, meme); c < n/100 {
			t.Errorf("%d texts start with %s, want some hundreds", c, meme)
		}
	}
}

func countPrefix(c corpus.Corpus, prefix string) int {
	k := 0
	for i := range uint64(n) {
		if strings.HasPrefix(c.Text(i), prefix) {
			k++
		}
	}
	return k
}
