package gateway

import "testing"

func TestFDIndex(t *testing.T) {
	x := newFDIndex(2*fdChunk + 1)
	a, b := &conn{}, &conn{}
	x.put(5, a)
	x.put(2*fdChunk, b) // the last chunk, made on demand
	if x.get(5) != a || x.get(2*fdChunk) != b || x.get(6) != nil || x.get(fdChunk+1) != nil {
		t.Fatal("get after put")
	}
	x.put(3*fdChunk, a) // past the size: not indexed
	x.put(-1, a)
	if x.get(3*fdChunk) != nil || x.get(-1) != nil {
		t.Fatal("a descriptor out of range was indexed")
	}
	x.put(5, b) // the descriptor was reused by a newer conn
	x.remove(5, a)
	if x.get(5) != b {
		t.Fatal("removing the old conn forgot the newer one")
	}
	x.remove(5, b)
	if x.get(5) != nil {
		t.Fatal("remove")
	}
}
