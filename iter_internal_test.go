package regioncache

import (
	"fmt"
	"testing"
)

// TestIterHoldsOneBatch: walking 1,000 keys, an iterator never holds more
// than its batch, from disk and from memory.
func TestIterHoldsOneBatch(t *testing.T) {
	e, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	b := new(Batch)
	for i := range 1000 {
		b.Put(fmt.Appendf(nil, "k%04d", i), 5, []byte("v"))
	}
	if err := e.Write(b); err != nil {
		t.Fatal(err)
	}
	for _, load := range []bool{false, true} {
		if load {
			if _, err := e.Load(Region{ID: 1, Version: 1, Start: []byte("k")}); err != nil {
				t.Fatal(err)
			}
			if err := e.WaitIdle(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		it, err := e.NewIter(IterOptions{LowerBound: []byte("k"), Ts: 9, BatchSize: 16})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			n++
			if len(it.kvs) > 16 {
				t.Fatalf("holding %d pairs, batch 16", len(it.kvs))
			}
		}
		if err := it.Close(); err != nil || n != 1000 {
			t.Fatalf("walked %d keys, %v", n, err)
		}
		if want := map[bool]Source{false: FromDisk, true: FromMemory}[load]; it.Info().Source != want {
			t.Fatalf("served from %s, want %s", it.Info().Source, want)
		}
	}
}
