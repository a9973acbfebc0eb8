// Package eventlog reads event logs: the JSON Lines files that `demo replay`
// runs against the engine to reproduce an incident or check a behaviour
// (format: docs/event-log.md, version 1.1; every 1.0 log is a valid 1.1
// log with the same meaning). The format is a public contract, written
// by hand and by tools, so this package is deliberately strict: the whole
// input is checked before a replay may start, and the first problem is
// reported as FILE:LINE: what is wrong, so that a typo can never turn into a
// replay that silently tests something else.
//
// Parse returns a Log whose Ops carry typed payloads (*Put, *Load, *Split, ...)
// for a replay runner to switch on. Everything the format makes checkable
// without running the engine is checked here: field types and unknown or
// repeated fields, keys, sizes and durations, region ranges, that splits and
// merges describe a consistent range change, that config comes first, and
// that every snapshot name used is held at that line and that every failpoint
// a wait names is paused at that line.
//
// Where the spec leaves a choice open, this package takes the stricter
// reading, since loosening a rule later keeps old files valid and tightening
// one does not:
//
//   - A key starting with "0x" must be even-length hex ("0x" alone is the
//     empty key); anything else after "0x" is a bad key, not a literal.
//     Values (put value, expected values) are never hex-decoded.
//   - A size is a JSON integer or a string of digits with an optional unit
//     B, KiB, MiB, GiB or TiB. Decimal units (KB, MB) are refused as
//     ambiguous. Config sizes, loaders, ts, ids, versions, limit and
//     safe_point must be positive; a counter value and memory_at_most may be 0.
//   - Integers are plain JSON digits: 5.0, 1e3 and "5" are mistyped.
//   - A region's start is required; its end may be "" or missing (unbounded).
//   - config must set at least one field; several config lines may precede
//     the other ops, and a field set twice takes the later value.
//   - get and scan may omit ts only when they read through a snapshot (then
//     they read at the snapshot's ts).
//   - A wait on a failpoint needs that failpoint set to pause on an earlier
//     line and not set to anything else since: nothing else can be paused
//     there, so such a wait could only time out. Its count defaults to 1.
//   - A wait, like an expect, takes the fields of one form only; fields of
//     two forms on one line are refused rather than one of them ignored.
//   - A scan's range must be non-empty, and its expected pairs must be in
//     strictly ascending key order, inside the range and no more than limit:
//     no scan could return anything else.
//   - The parts of a split and the regions of a merge may be listed in any
//     order; they are checked in key order and kept in file order.
//   - "at" values need not increase from line to line.
//   - A leading UTF-8 byte order mark is ignored, as RFC 8259 allows, and a
//     line may end in CRLF. Every line, comments included, must be UTF-8.
package eventlog
