package filter

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"unicode/utf8"
)

// MaxWordBytes bounds the length of one word after normalization. Longer
// lines in a word list are mistakes (a pasted paragraph), not words.
const MaxWordBytes = 256

// maxListBytes bounds a word list file read by Load.
const maxListBytes = 64 << 20

// Filter finds the words of a list in messages. It is immutable and safe
// for concurrent use; build a new one to change the list. A nil *Filter is
// valid and matches nothing, so a Holder that was never stored to disables
// filtering.
type Filter struct {
	ac   *automaton // nil for an empty list
	pool sync.Pool  // *scratch; per Filter so that no state outlives a reload
}

// New builds a Filter for words. Each word is trimmed and normalized like
// messages are (see Normalize); blank entries, entries that start with '#'
// (comments), and entries that normalize to nothing are skipped, and
// duplicates are merged. A word that is not valid UTF-8 or is longer than
// MaxWordBytes after normalization is an error wrapping ErrInvalidWord.
func New(words []string) (*Filter, error) {
	normalized := make([]string, 0, len(words))
	for i, w := range words {
		w = strings.TrimSpace(w)
		if w == "" || strings.HasPrefix(w, "#") {
			continue
		}
		if !utf8.ValidString(w) {
			return nil, fmt.Errorf("%w: entry %d is not valid UTF-8", ErrInvalidWord, i+1)
		}
		// Trim again: NFKC turns an ideographic space into a plain one.
		n := strings.TrimSpace(Normalize(w))
		if n == "" {
			continue
		}
		if len(n) > MaxWordBytes {
			return nil, fmt.Errorf("%w: entry %d is longer than %d bytes", ErrInvalidWord, i+1, MaxWordBytes)
		}
		normalized = append(normalized, n)
	}
	f := &Filter{}
	if len(normalized) > 0 {
		f.ac = buildAutomaton(normalized)
	}
	return f, nil
}

// Load builds a Filter from a word list file: UTF-8, one word per line, as
// New reads them. A byte order mark at the start is ignored. Errors name
// the file and line.
func Load(path string) (*Filter, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("filter: read word list: %w", err)
	}
	if len(data) > maxListBytes {
		return nil, fmt.Errorf("filter: word list %s is larger than %d bytes", path, maxListBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	var words []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1) // a line can be as long as the file; New judges its length
	for line := 1; sc.Scan(); line++ {
		w := sc.Text()
		if !utf8.ValidString(w) {
			return nil, fmt.Errorf("%w: %s line %d is not valid UTF-8", ErrInvalidWord, path, line)
		}
		words = append(words, w)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("filter: read word list %s: %w", path, err)
	}
	f, err := New(words)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Len returns the number of distinct words after normalization.
func (f *Filter) Len() int {
	if f == nil || f.ac == nil {
		return 0
	}
	return f.ac.words
}

// Match reports whether text contains a word, compared after normalizing
// both (see Normalize), so full-width letters, capitals and zero-width
// characters do not hide a word. Words match anywhere, also inside other
// words.
func (f *Filter) Match(text string) bool {
	if f == nil || f.ac == nil {
		return false
	}
	if isPlain(text) {
		return contains(f.ac, text)
	}
	sc := f.getScratch()
	sc.normalize(text, false)
	found := contains(f.ac, sc.out)
	f.putScratch(sc)
	return found
}

func (f *Filter) getScratch() *scratch {
	if sc, ok := f.pool.Get().(*scratch); ok {
		return sc
	}
	return new(scratch)
}

func (f *Filter) putScratch(sc *scratch) {
	if sc.reusable() {
		f.pool.Put(sc)
	}
}
