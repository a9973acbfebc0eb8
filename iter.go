package regioncache

import (
	"bytes"
	"fmt"
)

// IterOptions bound an iterator and say at which ts it reads.
type IterOptions struct {
	// LowerBound is the first key the iterator may return (inclusive);
	// nil: the start of the key space.
	LowerBound []byte
	// UpperBound is the key the iterator stops before (exclusive); nil:
	// unbounded.
	UpperBound []byte
	// Ts is the read ts: the iterator returns the newest version of each
	// key at or below it, as Scan does. It must be positive for
	// Engine.NewIter; through a snapshot, 0 is the snapshot's ts.
	Ts uint64
	// BatchSize is how many keys the iterator reads at a time (default
	// DefaultIterBatchSize, at most MaxIterBatchSize): the most it holds.
	BatchSize int
}

// Iterator batch sizes.
const (
	DefaultIterBatchSize = 256
	MaxIterBatchSize     = 1 << 20
)

// Iterator walks the visible keys of a range in key order, as pebble's and
// badger's iterators do:
//
//	it, err := e.NewIter(regioncache.IterOptions{LowerBound: lo, UpperBound: hi, Ts: ts})
//	if err != nil { ... }
//	for valid := it.First(); valid; valid = it.Next() {
//		use(it.Key(), it.Value())
//	}
//	if err := it.Close(); err != nil { ... }
//
// It reads BatchSize keys at a time, each batch exactly as Scan reads it
// (from memory where the key's region is active and the ts is above its
// safe point, else from disk), and between batches holds nothing but the
// batch: no snapshot, no lock, no memory of a region, so an iterator left
// open pins nothing. Its answers are Scan's over the same range: the keys
// and values Scan returns, in the same order. An iterator from
// Engine.NewIter sees each batch as of when it reads it, as TiKV's client
// scanner does: a write made while it is open at a ts at or below its ts
// may or may not be seen. For a frozen view, iterate a Snapshot.
//
// Key and Value are valid until the next positioning call (First, SeekGE,
// Next) and must not be modified. An Iterator is not safe for concurrent
// use. Reads through iterators are counted in Metrics.Reads once per
// iterator, when it is closed.
type Iterator struct {
	lower, upper []byte
	batchSize    int
	fetch        func(start []byte, limit int) (kvs []KV, info ReadInfo, err error)
	count        func(info ReadInfo)
	// alive says why the iterator may not go on (its snapshot released, its
	// engine closed), nil while it may: checked at every step, so that a
	// batch fetched before is not served past that moment.
	alive func() error

	kvs  []KV // the current batch
	pos  int  // index in kvs of the current pair
	more bool // the range goes on past the batch
	err  error
	// info is where the batches so far were served; fetched says whether
	// there were any.
	info    ReadInfo
	fetched bool
	closed  bool
}

func newIterator(o IterOptions, fetch func([]byte, int) ([]KV, ReadInfo, error), count func(ReadInfo), alive func() error) (*Iterator, error) {
	if o.BatchSize == 0 {
		o.BatchSize = DefaultIterBatchSize
	}
	if o.BatchSize < 0 || o.BatchSize > MaxIterBatchSize {
		return nil, fmt.Errorf("%w: iterator batch size %d is out of range [1, %d]", ErrInvalidOptions, o.BatchSize, MaxIterBatchSize)
	}
	it := &Iterator{lower: bytes.Clone(o.LowerBound), upper: bytes.Clone(o.UpperBound), batchSize: o.BatchSize, fetch: fetch, count: count, alive: alive}
	if it.lower == nil {
		it.lower = []byte{}
	}
	return it, nil
}

// NewIter returns an iterator over the visible keys of [o.LowerBound,
// o.UpperBound) at o.Ts; it is unpositioned until First or SeekGE. Close it
// when done. A LowerBound at or above a non-empty UpperBound is the empty
// range, as for Scan: First is false and Error nil.
func (e *Engine) NewIter(o IterOptions) (*Iterator, error) {
	if e.isClosed() {
		return nil, ErrClosed
	}
	if o.Ts == 0 {
		return nil, ErrInvalidTimestamp
	}
	ts, upper := o.Ts, bytes.Clone(o.UpperBound)
	return newIterator(o, func(start []byte, limit int) ([]KV, ReadInfo, error) {
		exit, err := e.enter()
		if err != nil {
			return nil, ReadInfo{}, err
		}
		defer exit()
		kvs, src, why, stepped, err := e.plane.Scan(start, upper, ts, limit)
		if err != nil {
			return nil, ReadInfo{}, err
		}
		e.heat.Record(start, stepped, len(kvs))
		return publicKVs(kvs), ReadInfo{Source: Source(src), Reason: DiskReason(why)}, nil
	}, func(info ReadInfo) { e.countRead(info.Source, info.Reason) }, func() error {
		if e.isClosed() {
			return ErrClosed
		}
		return nil
	})
}

// NewIter returns an iterator over the snapshot's visible keys of
// [o.LowerBound, o.UpperBound) ∩ its region at o.Ts (0: the snapshot's ts;
// above it: ErrAboveSnapshotTs). It reads the frozen view, so it answers
// as Snapshot.Scan does however long it stays open; after Release, it
// stops with ErrReleased. Bounds at or past each other (or outside the
// region) are the empty range, as for Scan.
func (s *Snapshot) NewIter(o IterOptions) (*Iterator, error) {
	if _, err := s.readTs(o.Ts); err != nil {
		return nil, err
	}
	ts, upper := o.Ts, bytes.Clone(o.UpperBound)
	return newIterator(o, func(start []byte, limit int) ([]KV, ReadInfo, error) {
		res, err := s.scan(start, upper, ts, limit, false)
		return res.Pairs, res.ReadInfo, err
	}, func(info ReadInfo) { s.e.countRead(info.Source, info.Reason) }, s.releasedErr)
}

// First moves to the first key of the range and reports whether there is
// one.
func (it *Iterator) First() bool { return it.seek(it.lower) }

// SeekGE moves to the first key at or after key (and at or after the lower
// bound) and reports whether there is one.
func (it *Iterator) SeekGE(key []byte) bool {
	if bytes.Compare(key, it.lower) < 0 {
		key = it.lower
	}
	return it.seek(key)
}

func (it *Iterator) seek(key []byte) bool {
	if it.closed {
		it.err = ErrIterClosed
		return false
	}
	it.err = nil
	return it.load(bytes.Clone(key))
}

// load reads the batch starting at start and positions on its first pair.
func (it *Iterator) load(start []byte) bool {
	it.kvs, it.pos, it.more = nil, 0, false
	if len(it.upper) > 0 && bytes.Compare(start, it.upper) >= 0 {
		return false
	}
	kvs, info, err := it.fetch(start, it.batchSize)
	if err != nil {
		it.err = err
		return false
	}
	it.note(info)
	it.kvs, it.more = kvs, len(kvs) == it.batchSize
	return len(kvs) > 0
}

// note merges where a batch was served into where the iterator's reads
// were.
func (it *Iterator) note(info ReadInfo) {
	switch {
	case !it.fetched:
		it.info, it.fetched = info, true
	case it.info.Source != info.Source:
		it.info.Source = FromBoth
	}
	if it.info.Reason == cached {
		it.info.Reason = info.Reason
	}
}

// Next moves to the next key and reports whether there is one.
func (it *Iterator) Next() bool {
	if it.closed {
		it.err = ErrIterClosed
		return false
	}
	if !it.Valid() {
		return false
	}
	if err := it.alive(); err != nil {
		it.err, it.kvs, it.pos = err, nil, 0
		return false
	}
	if it.pos+1 < len(it.kvs) {
		it.pos++
		return true
	}
	if !it.more {
		it.kvs, it.pos = nil, 0
		return false
	}
	// The next batch starts just after the last key of this one.
	last := it.kvs[len(it.kvs)-1].Key
	return it.load(append(bytes.Clone(last), 0))
}

// Valid reports whether the iterator is at a key.
func (it *Iterator) Valid() bool { return !it.closed && it.err == nil && it.pos < len(it.kvs) }

// Key is the current key (nil unless Valid).
func (it *Iterator) Key() []byte {
	if !it.Valid() {
		return nil
	}
	return it.kvs[it.pos].Key
}

// Value is the current key's value at the iterator's ts (nil unless Valid).
func (it *Iterator) Value() []byte {
	if !it.Valid() {
		return nil
	}
	return it.kvs[it.pos].Value
}

// Error is the error that stopped the iterator, if any.
func (it *Iterator) Error() error { return it.err }

// Info says where the iterator's reads so far were served: FromBoth if
// some batches came from memory and some from disk.
func (it *Iterator) Info() ReadInfo { return it.info }

// Close releases the batch the iterator holds and returns Error. It is
// idempotent; the iterator's reads are counted in Metrics at the first
// Close.
func (it *Iterator) Close() error {
	if it.closed {
		return nil
	}
	err := it.err
	it.closed, it.kvs, it.pos = true, nil, 0
	if it.fetched {
		it.count(it.info)
	}
	return err
}
