package memstore

import (
	"bytes"
	"fmt"
)

const slabSize = 256 << 10

// Builder builds a Tree from versions arriving in tree order (key ascending,
// ts descending), as a disk iterator yields them. It copies keys and values
// into large slabs, shares one key copy among the versions of a key, and
// appends to the tree through its sorted bulk-load path: about 1.7x faster and
// 37x fewer allocations than inserting one by one (performance anchors §3).
type Builder struct {
	t       *Tree
	slab    []byte
	last    entry
	started bool
}

// NewBuilder starts an empty tree.
func NewBuilder() *Builder { return &Builder{t: New()} }

func (b *Builder) copyBytes(p []byte) []byte {
	if len(p) > slabSize/4 {
		return bytes.Clone(p)
	}
	if len(b.slab)+len(p) > cap(b.slab) {
		b.slab = make([]byte, 0, slabSize)
	}
	n := len(b.slab)
	b.slab = append(b.slab, p...)
	return b.slab[n : n+len(p) : n+len(p)]
}

// Add appends a version; it returns its accounted bytes. Versions must come in
// tree order; an out-of-order version is an error and is not added.
func (b *Builder) Add(key []byte, ts uint64, value []byte, tomb bool) (int64, error) {
	e := entry{ts: ts, tomb: tomb}
	if b.started {
		if probe := (entry{key: str(key), ts: ts}); !less(b.last, probe) {
			return 0, fmt.Errorf("memstore: version out of order at key %x ts %d", key, ts)
		}
	}
	if b.started && b.last.key == str(key) {
		e.key = b.last.key
	} else {
		e.key = str(b.copyBytes(key))
	}
	if !tomb {
		e.value = str(b.copyBytes(value))
	}
	b.t.tr.Load(e)
	size := entrySize(e)
	b.t.bytes += size
	b.last, b.started = e, true
	return size, nil
}

// Tree returns the built tree; the builder must not be used afterwards.
func (b *Builder) Tree() *Tree { t := b.t; b.t = nil; return t }
