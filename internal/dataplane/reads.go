package dataplane

import (
	"bytes"
	"errors"
	"runtime"
	"sync"

	"github.com/regioncache/regioncache/internal/diskengine"
	"github.com/regioncache/regioncache/internal/mvcc"
)

// Source says where a read was served from.
type Source uint8

const (
	// FromDisk: the disk engine answered.
	FromDisk Source = iota
	// FromMemory: the cache answered.
	FromMemory
	// FromBoth: a scan crossed cached and uncached ranges.
	FromBoth
)

func (s Source) String() string {
	switch s {
	case FromMemory:
		return "memory"
	case FromBoth:
		return "mixed"
	default:
		return "disk"
	}
}

// DiskReason says why a read went to disk.
type DiskReason uint8

const (
	// Cached: the read was served from memory.
	Cached DiskReason = iota
	// NotCached: no active region holds the key.
	NotCached
	// VersionMismatch: the region is cached at another version.
	VersionMismatch
	// TooOldRead: the read ts is at or below the region's safe point.
	TooOldRead
)

func (r DiskReason) String() string {
	switch r {
	case NotCached:
		return "not_cached"
	case VersionMismatch:
		return "version_mismatch"
	case TooOldRead:
		return "too_old_read"
	default:
		return ""
	}
}

// ReadClock is the plane's read clock now: how many reads it served from
// memory. It is a logical clock (each read from memory takes a tick), so
// least-recently-read needs no wall clock; LastRead values compare with it.
func (p *Plane) ReadClock() int64 { return p.readClock.Load() }

// A batch is atomic to readers across memory and disk. A write commits to
// Pebble (visible there at once) and then applies the batch to the cached
// regions it touches, one at a time, all under the commit lock; in between,
// a read of an uncached key can see the batch while a read of a cached key
// cannot yet. So no read returns while a write that it may have seen part
// of is still being applied: every read ends with awaitWrite, which costs
// one atomic load when no write is in flight, and a read that started after
// it returned sees the whole batch. A scan, which reads several places,
// also checks that no write ran while it read, or reads again.

// awaitWrite returns once the write in flight when it was called, if any,
// has been applied everywhere.
func (p *Plane) awaitWrite() {
	s := p.writeSeq.Load()
	if s&1 == 0 {
		return
	}
	// The window is short (a Pebble commit without sync, then memory):
	// yield a few times before sleeping on the lock the writer holds.
	for range 8 {
		runtime.Gosched()
		if p.writeSeq.Load() != s {
			return
		}
	}
	p.commitMu.Lock()
	//lint:ignore SA2001 an empty critical section: waiting for the writer is the point
	p.commitMu.Unlock()
}

// Get reads the newest version of key at or below ts, from memory when the
// key's region is active and ts is above its safe point, else from disk.
func (p *Plane) Get(key []byte, ts uint64) (value []byte, found bool, src Source, why DiskReason, err error) {
	defer p.awaitWrite()
	why = NotCached
	if h := findLocked(p.published.Load(), key); h != nil {
		h.mu.RLock()
		if h.readable {
			if ts > h.safePoint {
				v, ok := h.store.Get(key, ts)
				h.mu.RUnlock()
				p.touch(h)
				return bytes.Clone(v), ok, FromMemory, Cached, nil
			}
			why = TooOldRead
		}
		h.mu.RUnlock()
	}
	v, ok, err := p.db.Reader().Get(key, ts)
	return v, ok, FromDisk, why, err
}

// touch marks h as the region read last.
func (p *Plane) touch(h *Handle) { h.lastRead.Store(p.readClock.Add(1)) }

// LastRead orders handles by how recently they served a read.
func (h *Handle) LastRead() int64 { return h.lastRead.Load() }

// Scan reads up to limit (0: all) visible keys of [start, end) at ts. Each
// stretch of the range is served from memory where its region is active and
// ts is above its safe point, else from disk.
//
// The scan is one moment for every batch: if a write ran while it read, it
// waits for the write and reads again; after scanRetries such tries it reads
// under the commit lock, where no write runs.
func (p *Plane) Scan(start, end []byte, ts uint64, limit int) (kvs []diskengine.KV, src Source, why DiskReason, stepped int, err error) {
	for try := 0; ; try++ {
		if try == scanRetries {
			p.commitMu.Lock()
			defer p.commitMu.Unlock()
			kvs, src, why, n, err := p.scanOnce(start, end, ts, limit)
			return kvs, src, why, stepped + n, err
		}
		before := p.writeSeq.Load()
		kvs, src, why, n, err := p.scanOnce(start, end, ts, limit)
		stepped += n
		if before&1 == 0 && p.writeSeq.Load() == before {
			return kvs, src, why, stepped, err
		}
		p.awaitWrite()
	}
}

// scanRetries is how many times a scan that raced a write reads again
// before it reads under the commit lock.
const scanRetries = 3

func (p *Plane) scanOnce(start, end []byte, ts uint64, limit int) (kvs []diskengine.KV, src Source, why DiskReason, stepped int, err error) {
	rt := p.published.Load()
	if limit > 0 {
		kvs = make([]diskengine.KV, 0, min(limit, maxScanPrealloc))
	}
	pos := start
	sawMem, sawDisk := false, false
	why = Cached
	full := func() bool { return limit > 0 && len(kvs) >= limit }
	for !full() && (len(end) == 0 || bytes.Compare(pos, end) < 0) {
		// The handle covering pos, or the first one starting after it.
		var cover, next *Handle
		if h := findLocked(rt, pos); h != nil {
			cover = h
		} else {
			next, _ = rt.After(pos)
		}
		if cover != nil {
			segEnd := mvcc.MinEnd(end, cover.Region.End)
			served := false
			cover.mu.RLock()
			if cover.readable && ts > cover.safePoint {
				served = true
				var n int
				kvs, n = cover.store.AppendScan(kvs, pos, segEnd, ts, limit)
				stepped += n
			} else if cover.readable {
				why = TooOldRead
			}
			cover.mu.RUnlock()
			if served {
				sawMem = true
				p.touch(cover)
			} else {
				if why == Cached {
					why = NotCached
				}
				sawDisk = true
				n, err := p.diskScan(&kvs, pos, segEnd, ts, limit)
				stepped += n
				if err != nil {
					return nil, FromDisk, why, stepped, err
				}
			}
			if len(segEnd) == 0 {
				break
			}
			pos = segEnd
			continue
		}
		segEnd := end
		if next != nil {
			segEnd = mvcc.MinEnd(end, next.Region.Start)
		}
		sawDisk = true
		if why == Cached {
			why = NotCached
		}
		n, err := p.diskScan(&kvs, pos, segEnd, ts, limit)
		stepped += n
		if err != nil {
			return nil, FromDisk, why, stepped, err
		}
		if len(segEnd) == 0 {
			break
		}
		pos = segEnd
	}
	switch {
	case sawMem && sawDisk:
		src = FromBoth
	case sawMem:
		src, why = FromMemory, Cached
	default:
		src = FromDisk
		if why == Cached {
			why = NotCached
		}
	}
	return kvs, src, why, stepped, nil
}

func (p *Plane) diskScan(kvs *[]diskengine.KV, start, end []byte, ts uint64, limit int) (int, error) {
	rest := 0
	if limit > 0 {
		rest = limit - len(*kvs)
	}
	got, stepped, err := p.db.Reader().ScanStepped(start, end, ts, rest)
	*kvs = append(*kvs, got...)
	return stepped, err
}

// ErrClosed reports use of a closed plane.
var ErrClosed = errors.New("regioncache: disk snapshot closed")

// diskSnap is one Pebble snapshot and who may use it. Pebble's snapshot
// must not be closed while an iterator of another goroutine still reads it:
// every read holds mu shared, and closing takes it whole, so whoever closes
// (the owner, or the plane at engine close) waits for the reads in flight,
// and a read after the close gets ErrClosed instead of Pebble's panic.
type diskSnap struct {
	mu     sync.RWMutex
	closed bool
	snap   *diskengine.Snapshot
}

// close closes the Pebble snapshot once, after every read in flight.
func (s *diskSnap) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	_ = s.snap.Close()
}

// DiskSnapshot is a tracked Pebble snapshot: Close is idempotent and the
// plane closes whatever is left open when it closes, so neither a host that
// forgets to release nor one that releases late can break the disk engine.
type DiskSnapshot struct {
	p *Plane
	s *diskSnap
}

// NewReadSnapshot takes a tracked disk snapshot for a reader, at a point of
// the commit order where every committed write is also in memory: a reader
// must not see on disk a write that a later read of an active region could
// still miss in memory.
func (p *Plane) NewReadSnapshot() (DiskSnapshot, error) {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	return p.NewDiskSnapshot()
}

// NewDiskSnapshot takes a tracked snapshot of everything committed so far.
func (p *Plane) NewDiskSnapshot() (DiskSnapshot, error) {
	p.snapMu.Lock()
	defer p.snapMu.Unlock()
	if p.closed {
		return DiskSnapshot{}, ErrClosed
	}
	s := &diskSnap{snap: p.db.NewSnapshot()}
	p.snaps[s] = struct{}{}
	return DiskSnapshot{p: p, s: s}, nil
}

// Read calls f with a reader of the snapshot; the snapshot stays open until
// f returns. f must not close the snapshot nor take another one. Reading a
// closed (or never taken) snapshot returns ErrClosed.
func (d DiskSnapshot) Read(f func(diskengine.Reader) error) error {
	if d.s == nil {
		return ErrClosed
	}
	d.s.mu.RLock()
	defer d.s.mu.RUnlock()
	if d.s.closed {
		return ErrClosed
	}
	return f(d.s.snap.Reader())
}

// Close releases the snapshot.
func (d DiskSnapshot) Close() {
	if d.s == nil {
		return
	}
	d.p.snapMu.Lock()
	defer d.p.snapMu.Unlock()
	if _, open := d.p.snaps[d.s]; !open {
		return
	}
	delete(d.p.snaps, d.s)
	d.s.close()
}

// CloseSnapshots closes every snapshot still open and refuses new ones; the
// engine calls it before closing the disk engine.
func (p *Plane) CloseSnapshots() {
	p.snapMu.Lock()
	defer p.snapMu.Unlock()
	p.closed = true
	for s := range p.snaps {
		s.close()
		delete(p.snaps, s)
	}
}

// maxScanPrealloc bounds the pairs a scan with a limit allocates room for
// before it knows how many it finds.
const maxScanPrealloc = 1024
