package filter

import (
	"slices"
)

// The matcher is an Aho–Corasick automaton over the UTF-8 bytes of the
// normalized words. It is written here rather than taken from a library
// because the ones on offer either allocate on every search (an iterator,
// its state and each match are heap objects) or keep a full 256-way table of
// 8-byte entries for every state, about 100 MB for a 10,000-word list. This
// one keeps full tables only for the few busy states near the root, where
// searches spend their time, and sorted edge lists for the rest: a
// 10,000-word list takes under 2 MiB and a search allocates nothing.
//
// Matching on bytes rather than runes is sound because both sides are valid
// UTF-8: a word starts with a lead byte and ends with a whole rune, so every
// match starts and ends on rune boundaries of the text.

const (
	// root is the start state; its row is always dense, which is what ends
	// every failure walk.
	root = 0
	// denseMinEdges is the fan-out from which a state gets a full 256-entry
	// row. Below it, a short linear scan of sorted labels is as fast and
	// 1 KiB smaller.
	denseMinEdges = 6
	// maxDenseRows caps the memory of full rows (1 KiB each) for huge lists.
	maxDenseRows = 4096
	// noRow marks a state without a full row.
	noRow = -1
)

// state is one node of the automaton.
type state struct {
	fail   uint32 // the longest proper suffix of this state's string that is also a state
	edges  uint32 // first index of this state's edges in labels and targets
	nEdges uint32 // number of edges (children in the trie)
	row    int32  // index in rows of this state's full transition row, or noRow
	// match is the byte length of the longest word that is a suffix of
	// this state's string, 0 if none. One length per state is enough for
	// masking: shorter words ending at the same place lie inside it.
	match uint32
}

// automaton is immutable after build and safe for concurrent use.
type automaton struct {
	states  []state
	labels  []byte   // edge labels, sorted within each state
	targets []uint32 // edge targets, parallel to labels
	// rows are complete transition functions: an entry already accounts
	// for failure links, so a state with a row never walks them.
	rows  [][256]uint32
	words int // distinct words
}

// trieNode is a node of the plain trie, used only while building.
type trieNode struct {
	labels   []byte
	children []int32
	word     bool
}

// buildAutomaton builds the automaton for words, which must be non-empty
// and already normalized. Duplicates are allowed.
func buildAutomaton(words []string) *automaton {
	nodes := []trieNode{{}}
	distinct := 0
	for _, w := range words {
		n := int32(root)
		for i := 0; i < len(w); i++ {
			c := w[i]
			k := slices.Index(nodes[n].labels, c)
			if k < 0 {
				nodes = append(nodes, trieNode{})
				nodes[n].labels = append(nodes[n].labels, c)
				nodes[n].children = append(nodes[n].children, int32(len(nodes)-1))
				k = len(nodes[n].labels) - 1
			}
			n = nodes[n].children[k]
		}
		if !nodes[n].word {
			nodes[n].word = true
			distinct++
		}
	}

	// Number the states in breadth-first order, so that each state's
	// failure target (always shallower) is complete before the state; then
	// lay each state's edges out contiguously, sorted by label.
	a := &automaton{states: make([]state, len(nodes)), words: distinct}
	order := make([]int32, 0, len(nodes)) // BFS position → trie node
	id := make([]uint32, len(nodes))      // trie node → state
	order = append(order, root)
	for i := 0; i < len(order); i++ {
		for _, child := range nodes[order[i]].children {
			id[child] = uint32(len(order))
			order = append(order, child)
		}
	}
	for i, ni := range order {
		n := &nodes[ni]
		s := &a.states[i]
		s.edges = uint32(len(a.labels))
		s.nEdges = uint32(len(n.labels))
		s.row = noRow
		if i == root || (len(n.labels) >= denseMinEdges && len(a.rows) < maxDenseRows) {
			s.row = int32(len(a.rows))
			a.rows = append(a.rows, [256]uint32{})
		}
		start := len(a.labels)
		for k, c := range n.labels {
			a.labels = append(a.labels, c)
			a.targets = append(a.targets, id[n.children[k]])
		}
		sortEdges(a.labels[start:], a.targets[start:])
	}

	depth := make([]uint32, len(a.states))
	for i := range order {
		s := &a.states[i]
		if s.row != noRow {
			row := &a.rows[s.row]
			for c := range 256 {
				if i == root {
					row[c] = root
				} else {
					row[c] = a.next(s.fail, byte(c))
				}
			}
			for e := s.edges; e < s.edges+s.nEdges; e++ {
				row[a.labels[e]] = a.targets[e]
			}
		}
		for e := s.edges; e < s.edges+s.nEdges; e++ {
			t := a.targets[e]
			child := &a.states[t]
			depth[t] = depth[i] + 1
			if i != root {
				child.fail = a.next(s.fail, a.labels[e])
			}
			if nodes[order[t]].word {
				child.match = depth[t]
			} else {
				child.match = a.states[child.fail].match
			}
		}
	}
	return a
}

// sortEdges sorts labels ascending, permuting targets alike.
func sortEdges(labels []byte, targets []uint32) {
	// Insertion sort: edge lists are short, and this keeps the two slices
	// in step without an index permutation.
	for i := 1; i < len(labels); i++ {
		for j := i; j > 0 && labels[j-1] > labels[j]; j-- {
			labels[j-1], labels[j] = labels[j], labels[j-1]
			targets[j-1], targets[j] = targets[j], targets[j-1]
		}
	}
}

// next returns the state after reading byte c in state s.
func (a *automaton) next(s uint32, c byte) uint32 {
	for {
		st := &a.states[s]
		if st.row != noRow {
			return a.rows[st.row][c]
		}
		end := st.edges + st.nEdges
		for e := st.edges; e < end; e++ {
			if l := a.labels[e]; l >= c {
				if l == c {
					return a.targets[e]
				}
				break
			}
		}
		s = st.fail
	}
}

// text is what the automaton reads: the caller's string on the fast path,
// or a pooled buffer holding its normalized form.
type text interface{ ~string | ~[]byte }

// contains reports whether some word occurs in t.
func contains[T text](a *automaton, t T) bool {
	s := uint32(root)
	for i := 0; i < len(t); i++ {
		s = a.next(s, t[i])
		if a.states[s].match != 0 {
			return true
		}
	}
	return false
}

// span is a match: bytes [start, end) of the searched text.
type span struct{ start, end int32 }

// appendMatches appends to spans every position where a word ends in t,
// with the longest word ending there, and returns the extended slice.
// Overlapping and nested words are all reported, so masking covers a
// word even when another one starts inside it.
func appendMatches[T text](a *automaton, t T, spans []span) []span {
	s := uint32(root)
	for i := 0; i < len(t); i++ {
		s = a.next(s, t[i])
		if m := a.states[s].match; m != 0 {
			spans = append(spans, span{start: int32(i + 1 - int(m)), end: int32(i + 1)})
		}
	}
	return spans
}
