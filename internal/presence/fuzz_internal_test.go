package presence

import (
	"testing"
)

// FuzzReports feeds arbitrary report bytes through the decoder and the
// bookkeeping a reader does with them: nothing panics, no count goes
// negative, and the totals always equal the sum of what the nodes reported.
func FuzzReports(f *testing.F) {
	f.Add([]byte(`{"node":"a","seq":1,"rooms":{"lobby":3}}`), []byte(`{"node":"a","seq":2,"rooms":{"lobby":0,"b":1}}`))
	f.Add([]byte(`{"node":"a","seq":1,"rooms":{"lobby":-5}}`), []byte(`{"node":"b","seq":1,"rooms":{"x.y":2}}`))
	f.Add([]byte(`{"node":"","seq":1}`), []byte(`not json`))
	f.Add([]byte(`{"node":"a","seq":18446744073709551615,"rooms":{"bad room":1}}`), []byte(`{"node":"a","seq":1,"rooms":{"lobby":9223372036854775807}}`))
	f.Add([]byte(`{"node":"a","seq":1,"rooms":{"lobby":4294967296}}`), []byte(`{"node":"b","seq":1,"rooms":{"lobby":4294967296}}`))
	f.Fuzz(func(t *testing.T, first, second []byte) {
		tb := &Table{nodes: map[string]*remote{}, totals: map[string]int64{}}
		for _, data := range [][]byte{first, second} {
			r, ok := parseReport(data)
			if !ok {
				continue
			}
			n := tb.nodes[r.Node]
			if n == nil {
				n = &remote{rooms: map[string]int64{}}
				tb.nodes[r.Node] = n
			}
			tb.applyLocked(n, r)
		}
		sums := map[string]int64{}
		for _, n := range tb.nodes {
			for room, c := range n.rooms {
				if c <= 0 {
					t.Fatalf("node keeps room %q at %d", room, c)
				}
				sums[room] += c
			}
		}
		for room, c := range sums {
			if tb.totals[room] != c {
				t.Fatalf("total of %q is %d, the nodes' sum %d", room, tb.totals[room], c)
			}
		}
	})
}
