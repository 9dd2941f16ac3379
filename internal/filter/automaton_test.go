package filter

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// naiveMatches is the definition appendMatches must meet: at every end
// position, the longest word that ends there.
func naiveMatches(words []string, text string) []span {
	var spans []span
	for end := 1; end <= len(text); end++ {
		longest := 0
		for _, w := range words {
			if len(w) > longest && strings.HasSuffix(text[:end], w) {
				longest = len(w)
			}
		}
		if longest > 0 {
			spans = append(spans, span{start: int32(end - longest), end: int32(end)})
		}
	}
	return spans
}

// TestAutomatonAgainstNaive compares the automaton with a brute-force
// search on random lists over small alphabets, where words overlap, nest
// and share prefixes and suffixes heavily, and on lists big enough to give
// states full rows.
func TestAutomatonAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabets := []string{"ab", "abc", "abcdefghij", "甲乙丙", "aé甲"}
	for round := range 300 {
		alphabet := []rune(alphabets[round%len(alphabets)])
		randomString := func(maxLen int) string {
			var b strings.Builder
			for range 1 + rng.IntN(maxLen) {
				b.WriteRune(alphabet[rng.IntN(len(alphabet))])
			}
			return b.String()
		}
		words := make([]string, 1+rng.IntN(40))
		if round%10 == 0 {
			words = make([]string, 400)
		}
		for i := range words {
			words[i] = randomString(5)
		}
		a := buildAutomaton(words)
		for range 20 {
			text := randomString(30)
			want := naiveMatches(words, text)
			got := appendMatches(a, text, nil)
			if !slices.Equal(got, want) {
				t.Fatalf("words %q, text %q:\n got %v\nwant %v", words, text, got, want)
			}
			if c := contains(a, []byte(text)); c != (len(want) > 0) {
				t.Fatalf("words %q, text %q: contains = %v", words, text, c)
			}
		}
	}
}

func TestAutomatonCountsDistinctWords(t *testing.T) {
	a := buildAutomaton([]string{"ab", "a", "ab", "abc", "a"})
	if a.words != 3 {
		t.Errorf("words = %d, want 3", a.words)
	}
}

func TestAutomatonDenseRows(t *testing.T) {
	// 26 words under one prefix give that state a full row; matching must
	// not depend on which states have one.
	var words []string
	for c := 'a'; c <= 'z'; c++ {
		words = append(words, "x"+string(c)+"y")
	}
	a := buildAutomaton(words)
	if len(a.rows) < 2 {
		t.Fatalf("rows = %d; expected the root and the x state to be dense", len(a.rows))
	}
	text := "xxqyxzyxay"
	if got, want := appendMatches(a, text, nil), naiveMatches(words, text); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
