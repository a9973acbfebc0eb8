package regioncache

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/regioncache/regioncache/internal/dataplane"
	"github.com/regioncache/regioncache/internal/diskengine"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/memstore"
	"github.com/regioncache/regioncache/internal/mvcc"
	"github.com/regioncache/regioncache/messages"
)

// Snapshot is a read view of one region as of its ts, as a TiKV snapshot
// is. It freezes the region's versions at or below its ts as they were when
// it was taken: writes, GC, eviction and splits that come afterwards
// change nothing it answers, until Release. A read through it may be at its
// ts or below (an older view of the same frozen data); a read above its ts
// is ErrAboveSnapshotTs, since it would need versions the snapshot never
// saw. Keys outside its region are ErrOutOfRange.
type Snapshot struct {
	e      *Engine
	region Region
	ts     uint64
	info   ReadInfo

	mem       *memstore.View // nil: served from disk
	safePoint uint64
	disk      dataplane.DiskSnapshot
	// charge is the memory the snapshot reads, which it holds; holders are
	// the regions that count it (the one it was taken on, and the children
	// of its splits).
	charge  *dataplane.Charge
	holders *messages.SnapshotHolders

	mu sync.Mutex
	// released is set once, under mu; an iterator reads it at every step
	// without taking mu.
	released atomic.Bool
}

// Snapshot takes a read view of region r at ts. It is served from memory
// when the region is active at r's version and ts is above its safe point;
// otherwise from a disk snapshot. Release it when done: a memory snapshot
// holds its region's memory, even after eviction.
func (e *Engine) Snapshot(r Region, ts uint64) (*Snapshot, error) {
	exit, err := e.enter()
	if err != nil {
		return nil, err
	}
	defer exit()
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if ts == 0 {
		return nil, ErrInvalidTimestamp
	}
	req := &messages.AcquireSnapshot{Region: mvcc.Region(r.Clone()), Ts: ts, Reply: messages.NewReply[messages.SnapshotGranted]()}
	g, err := request(e, req, req.Reply)
	if err != nil {
		return nil, err
	}
	if g.Err != nil {
		return nil, publicErr(g.Err)
	}
	s := &Snapshot{e: e, region: r.Clone(), ts: ts}
	if g.OK {
		s.mem, s.safePoint, s.disk, s.charge, s.holders = g.View.View, g.View.SafePoint, g.View.Disk, g.View.Charge, g.Holders
		s.info = ReadInfo{Source: FromMemory}
		e.snapsHeld[FromMemory].Add(1)
		return s, nil
	}
	disk, err := e.plane.NewReadSnapshot()
	if err != nil {
		return nil, ErrClosed
	}
	s.disk = disk
	s.info = ReadInfo{Source: FromDisk, Reason: diskReason(g.Reason)}
	e.snapsHeld[FromDisk].Add(1)
	return s, nil
}

func diskReason(r lifecycle.RejectReason) DiskReason {
	switch r {
	case lifecycle.RejectVersion:
		return VersionMismatch
	case lifecycle.RejectTooOld:
		return TooOldRead
	default:
		return NotCached
	}
}

// Region is the snapshot's region.
func (s *Snapshot) Region() Region { return s.region }

// Ts is the read timestamp the snapshot was taken at.
func (s *Snapshot) Ts() uint64 { return s.ts }

// Info says whether the snapshot is served from memory and, if not, why.
func (s *Snapshot) Info() ReadInfo { return s.info }

// readTs is the ts a read through the snapshot asks for (0: the
// snapshot's), or an error for one above the snapshot's.
func (s *Snapshot) readTs(ts uint64) (uint64, error) {
	switch {
	case ts == 0:
		return s.ts, nil
	case ts > s.ts:
		return 0, fmt.Errorf("%w: read at %d, snapshot of %s at %d", ErrAboveSnapshotTs, ts, s.region, s.ts)
	}
	return ts, nil
}

func (s *Snapshot) fromMemory(ts uint64) bool { return s.mem != nil && ts > s.safePoint }

// Get reads key through the snapshot at ts (0: the snapshot's ts; above it:
// ErrAboveSnapshotTs).
func (s *Snapshot) Get(key []byte, ts uint64) (GetResult, error) {
	// Holding the engine open for the read keeps Close from closing the
	// disk snapshot under it.
	exit, err := s.e.enter()
	if err != nil {
		return GetResult{}, err
	}
	defer exit()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released.Load() {
		return GetResult{}, ErrReleased
	}
	if !s.region.Contains(key) {
		return GetResult{}, fmt.Errorf("%w: %s not in %s", ErrOutOfRange, mvcc.FormatKey(key), s.region)
	}
	if ts, err = s.readTs(ts); err != nil {
		return GetResult{}, err
	}
	if s.fromMemory(ts) {
		v, ok := s.mem.Get(key, ts)
		s.e.countRead(FromMemory, cached)
		return GetResult{Value: bytes.Clone(v), Found: ok, ReadInfo: ReadInfo{Source: FromMemory}}, nil
	}
	var v []byte
	var ok bool
	err = s.disk.Read(func(disk diskengine.Reader) (err error) {
		v, ok, err = disk.Get(key, ts)
		return err
	})
	if err != nil {
		return GetResult{}, err
	}
	info := s.diskInfo()
	s.e.countRead(FromDisk, info.Reason)
	return GetResult{Value: v, Found: ok, ReadInfo: info}, nil
}

func (s *Snapshot) diskInfo() ReadInfo {
	if s.mem != nil {
		return ReadInfo{Source: FromDisk, Reason: TooOldRead}
	}
	return s.info
}

// Scan reads [start, end) ∩ the snapshot's region at ts (0: the snapshot's
// ts; above it: ErrAboveSnapshotTs), up to limit keys (0: no limit). An
// empty intersection (start at or above end, or a range outside the
// region) returns no keys and a nil error, as Engine.Scan does.
func (s *Snapshot) Scan(start, end []byte, ts uint64, limit int) (ScanResult, error) {
	return s.scan(start, end, ts, limit, true)
}

// scan is Scan; count says whether to count the read in Metrics (an
// iterator counts its batches once, when it closes).
func (s *Snapshot) scan(start, end []byte, ts uint64, limit int, count bool) (ScanResult, error) {
	exit, err := s.e.enter()
	if err != nil {
		return ScanResult{}, err
	}
	defer exit()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released.Load() {
		return ScanResult{}, ErrReleased
	}
	if bytes.Compare(start, s.region.Start) < 0 {
		start = s.region.Start
	}
	if len(s.region.End) > 0 && (len(end) == 0 || bytes.Compare(end, s.region.End) > 0) {
		end = s.region.End
	}
	if ts, err = s.readTs(ts); err != nil {
		return ScanResult{}, err
	}
	if len(end) > 0 && bytes.Compare(start, end) >= 0 {
		return ScanResult{ReadInfo: s.info}, nil
	}
	if s.fromMemory(ts) {
		out, _ := s.mem.AppendScan(nil, start, end, ts, limit)
		if count {
			s.e.countRead(FromMemory, cached)
		}
		return ScanResult{Pairs: publicKVs(out), ReadInfo: ReadInfo{Source: FromMemory}}, nil
	}
	var kvs []diskengine.KV
	err = s.disk.Read(func(disk diskengine.Reader) (err error) {
		kvs, err = disk.Scan(start, end, ts, limit)
		return err
	})
	if err != nil {
		return ScanResult{}, err
	}
	info := s.diskInfo()
	if count {
		s.e.countRead(FromDisk, info.Reason)
	}
	return ScanResult{Pairs: publicKVs(kvs), ReadInfo: info}, nil
}

// releasedErr is ErrReleased once the snapshot is released, else nil.
func (s *Snapshot) releasedErr() error {
	if s.released.Load() {
		return ErrReleased
	}
	return nil
}

// Release drops the snapshot. It is idempotent, and harmless after Close.
func (s *Snapshot) Release() {
	// Enter before taking s.mu, in the same order as reads, so Release
	// cannot deadlock with a read and a Close.
	exit, err := s.e.enter()
	open := err == nil
	if open {
		defer exit()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released.Load() {
		return
	}
	s.released.Store(true)
	s.e.snapsHeld[s.info.Source].Add(-1)
	s.disk.Close()
	// The view's hold on its base run goes now: the region may already have
	// compacted or released it, and then its bytes leave the account here.
	s.e.plane.ReleaseView(s.mem)
	s.mem = nil
	if s.charge != nil {
		s.charge.LetGo(true, 0)
		s.charge = nil
	}
	if s.holders != nil && open {
		// No holder can be gone: a region holding a snapshot stays active
		// or pending_evict until this message arrives. Until each has
		// taken it, the engine is not idle.
		hs := s.holders.Release()
		s.e.sup.Board.Begin(len(hs))
		for _, h := range hs {
			s.e.system.Root.Send(h.PID, &messages.ReleaseSnapshot{Gen: h.Gen, Holders: s.holders})
		}
	}
}

// Check compares every active region's cached data with the disk engine and
// returns the differences (none, unless something is wrong).
func (e *Engine) Check() ([]Difference, error) {
	exit, err := e.enter()
	if err != nil {
		return nil, err
	}
	defer exit()
	diffs, err := e.plane.CrossCheck()
	if diffs == nil {
		return nil, err
	}
	out := make([]Difference, len(diffs))
	for i, d := range diffs {
		out[i] = Difference{Region: Region(d.Region), Key: d.Key, Ts: d.Ts, Memory: d.Memory, Disk: d.Disk}
	}
	return out, err
}
