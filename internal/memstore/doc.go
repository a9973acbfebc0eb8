// Package memstore holds the cached versions of one region in memory, in
// the disk engine's order (key ascending, ts descending).
//
// A region's Store is two layers read as one. The base run (Run) is what a
// load copies or a compaction writes: sorted, immutable, its key and value
// bytes in large arena chunks and its index a packed array of fixed-size
// records holding no Go pointers, so the garbage collector sees a few
// objects per run, not one per version. Over it, the write layer holds the
// versions written since as a few sorted immutable segments, one per batch
// until merged (writelayer.go). Get looks in the write layer, then
// binary-searches the base; Scan merges the two.
//
// Snapshots are O(1) views (the base and the write layer's segments never
// change). Compact builds a new base run from a view off the write
// path (folding the write layer in and applying GC), and Install swaps it
// in. Split children share their parent's run, bounded to their ranges.
// Runs are reference-counted so that a run with several holders is
// accounted once and given back when its last holder lets go.
package memstore

import "unsafe"

// str views b as a string without copying; b must not change while the
// string is in use (search keys that live for one call, and arena bytes,
// which never change).
func str(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// bs views s as bytes without copying; callers must not modify them.
func bs(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
