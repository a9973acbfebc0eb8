// Package diskengine is the disk side of the cache: multi-version data in an
// embedded Pebble database (on disk at a directory, or in memory with Pebble's
// vfs), with MVCC reads at a timestamp, atomic batches, point-in-time
// snapshots and the ordered iteration a loader copies from.
package diskengine

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/regioncache/regioncache/internal/mvcc"
)

// Options configure the database.
type Options struct {
	// Dir is where the database lives; empty means in memory.
	Dir string
	// Logger receives Pebble's own messages; nil discards them.
	Logger pebble.Logger
	// Pebble is the host's template of Pebble options (nil: Pebble's
	// defaults). Open completes a copy of it and leaves it unchanged; the
	// caller has checked that it sets nothing Open owns (FS, Lock, Logger).
	Pebble *pebble.Options
}

// DB is the disk engine.
type DB struct {
	pdb  *pebble.DB
	lock *pebble.Lock // nil in memory
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...interface{})  {}
func (quietLogger) Errorf(string, ...interface{}) {}
func (quietLogger) Fatalf(format string, args ...interface{}) {
	// Pebble calls Fatalf for unrecoverable corruption; it must not continue.
	panic(fmt.Sprintf(format, args...))
}

// Open opens (or creates) the database.
func Open(o Options) (*DB, error) {
	po := o.Pebble.Clone() // a nil template clones to Pebble's defaults
	po.Logger = o.Logger
	if po.Logger == nil {
		po.Logger = quietLogger{}
	}
	dir := o.Dir
	if dir == "" {
		po.FS = vfs.NewMem()
		dir = "regioncache"
	}
	var lock *pebble.Lock
	if o.Dir != "" {
		// The lock is taken here, before Pebble starts anything, so that a
		// directory in use is refused with its name and nothing left running.
		if err := os.MkdirAll(o.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("regioncache: creating the disk engine's directory: %w", err)
		}
		l, err := pebble.LockDirectory(o.Dir, vfs.Default)
		if err != nil {
			if holder := lockHolder(err); holder != "" {
				return nil, fmt.Errorf("%w: %s is locked by %s (lock file %s)",
					ErrLocked, o.Dir, holder, filepath.Join(o.Dir, "LOCK"))
			}
			return nil, fmt.Errorf("regioncache: locking %s: %w", o.Dir, err)
		}
		lock, po.Lock = l, l
	}
	pdb, err := pebble.Open(dir, po)
	if err != nil {
		if lock != nil {
			_ = lock.Close()
		}
		return nil, fmt.Errorf("regioncache: opening the disk engine in %s: %w", dirName(o.Dir), err)
	}
	return &DB{pdb: pdb, lock: lock}, nil
}

// Close closes the database.
func (d *DB) Close() error {
	err := d.pdb.Close()
	if d.lock != nil {
		err = errors.Join(err, d.lock.Close())
	}
	return err
}

// Commit writes the mutations as one atomic batch and returns once they are
// visible to reads. A later mutation of the same key and ts in the batch
// wins.
//
// With sync, the batch is also being written to stable storage: the
// returned Durable waits for that (Pebble groups the syncs of batches
// committed at about the same time into one) and must be called once,
// outside any lock the caller holds across commits, so that one batch's
// sync does not hold up the next commit. Without sync, Durable returns nil
// at once and a crash can lose the batch.
func (d *DB) Commit(muts []mvcc.Mutation, sync bool) (Durable func() error, err error) {
	b := d.pdb.NewBatch()
	var kbuf []byte
	for _, m := range muts {
		kbuf = mvcc.AppendKey(kbuf[:0], m.Key, m.Ts)
		if err := b.Set(kbuf, mvcc.EncodeValue(m), nil); err != nil {
			_ = b.Close()
			return nil, err
		}
	}
	if !sync {
		defer b.Close()
		return noWait, b.Commit(pebble.NoSync)
	}
	if err := d.pdb.ApplyNoSyncWait(b, pebble.Sync); err != nil {
		_ = b.Close()
		return nil, err
	}
	return func() error {
		err := b.SyncWait()
		if cerr := b.Close(); err == nil {
			err = cerr
		}
		return err
	}, nil
}

func noWait() error { return nil }

// Snapshot is a point-in-time view of the database; Close it when done.
type Snapshot struct{ snap *pebble.Snapshot }

// NewSnapshot takes a snapshot of everything committed so far.
func (d *DB) NewSnapshot() *Snapshot { return &Snapshot{snap: d.pdb.NewSnapshot()} }

// Close releases the snapshot.
func (s *Snapshot) Close() error { return s.snap.Close() }

// Reader reads MVCC data from the live database or a snapshot.
type Reader struct {
	src interface {
		NewIter(*pebble.IterOptions) (*pebble.Iterator, error)
	}
}

// Reader reads the live database.
func (d *DB) Reader() Reader { return Reader{src: d.pdb} }

// Reader reads the snapshot.
func (s *Snapshot) Reader() Reader { return Reader{src: s.snap} }

func bounds(start, end []byte) *pebble.IterOptions {
	o := &pebble.IterOptions{LowerBound: mvcc.KeyBound(start)}
	if len(end) > 0 {
		o.UpperBound = mvcc.KeyBound(end)
	}
	return o
}

// Get returns the newest version of key at or below ts; found is false when
// there is none or it is a delete marker. The value is a copy.
func (r Reader) Get(key []byte, ts uint64) (value []byte, found bool, err error) {
	it, err := r.src.NewIter(&pebble.IterOptions{LowerBound: mvcc.KeyBound(key), UpperBound: mvcc.VersionsUpperBound(key)})
	if err != nil {
		return nil, false, err
	}
	defer it.Close()
	if it.SeekGE(mvcc.EncodeKey(key, ts)) {
		k, _, err := mvcc.DecodeKey(nil, it.Key())
		if err != nil {
			return nil, false, err
		}
		if bytes.Equal(k, key) {
			raw, err := it.ValueAndErr()
			if err != nil {
				return nil, false, err
			}
			v, tomb, err := mvcc.DecodeValue(raw)
			if err != nil {
				return nil, false, err
			}
			if !tomb {
				return bytes.Clone(v), true, nil
			}
			return nil, false, nil
		}
	}
	return nil, false, it.Error()
}

// GetVersion returns the newest version of key at or below ts, delete
// markers included; ok is false when there is none. The value is a copy.
func (r Reader) GetVersion(key []byte, ts uint64) (v mvcc.Version, ok bool, err error) {
	it, err := r.src.NewIter(&pebble.IterOptions{LowerBound: mvcc.KeyBound(key), UpperBound: mvcc.VersionsUpperBound(key)})
	if err != nil {
		return mvcc.Version{}, false, err
	}
	defer it.Close()
	if !it.SeekGE(mvcc.EncodeKey(key, ts)) {
		return mvcc.Version{}, false, it.Error()
	}
	_, vts, err := mvcc.DecodeKey(nil, it.Key())
	if err != nil {
		return mvcc.Version{}, false, err
	}
	raw, err := it.ValueAndErr()
	if err != nil {
		return mvcc.Version{}, false, err
	}
	val, tomb, err := mvcc.DecodeValue(raw)
	if err != nil {
		return mvcc.Version{}, false, err
	}
	return mvcc.Version{Key: bytes.Clone(key), Ts: vts, Value: bytes.Clone(val), Tombstone: tomb}, true, nil
}

// KV is one visible key and its value (the memory store's scans return the
// same type).
type KV = mvcc.KV

// Scan returns up to limit (0: no limit) visible keys in [start, end) at ts.
func (r Reader) Scan(start, end []byte, ts uint64, limit int) ([]KV, error) {
	out, _, err := r.ScanStepped(start, end, ts, limit)
	return out, err
}

// ScanStepped is Scan that also returns how many versions it stepped over,
// the numerator of MVCC read amplification.
func (r Reader) ScanStepped(start, end []byte, ts uint64, limit int) ([]KV, int, error) {
	var out []KV
	stepped, err := r.scan(start, end, ts, func(k, v []byte) bool {
		out = append(out, KV{Key: bytes.Clone(k), Value: bytes.Clone(v)})
		return limit <= 0 || len(out) < limit
	})
	return out, stepped, err
}

func (r Reader) scan(start, end []byte, ts uint64, fn func(k, v []byte) bool) (stepped int, err error) {
	it, err := r.src.NewIter(bounds(start, end))
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var cur []byte
	haveCur := false
	var kbuf []byte
	for valid := it.First(); valid; valid = it.Next() {
		stepped++
		k, vts, err := mvcc.DecodeKey(kbuf[:0], it.Key())
		if err != nil {
			return stepped, err
		}
		kbuf = k
		if haveCur && bytes.Equal(k, cur) {
			continue
		}
		if vts > ts {
			continue
		}
		cur = append(cur[:0], k...)
		haveCur = true
		raw, err := it.ValueAndErr()
		if err != nil {
			return stepped, err
		}
		v, tomb, err := mvcc.DecodeValue(raw)
		if err != nil {
			return stepped, err
		}
		if tomb {
			continue
		}
		if !fn(k, v) {
			return stepped, nil
		}
	}
	return stepped, it.Error()
}

// Versions calls fn for every version in [start, end) in order, delete markers
// included. The slices passed to fn are valid only during the call. If fn
// returns an error, iteration stops and Versions returns it.
func (r Reader) Versions(start, end []byte, fn func(key []byte, ts uint64, value []byte, tomb bool) error) error {
	it, err := r.src.NewIter(bounds(start, end))
	if err != nil {
		return err
	}
	defer it.Close()
	var kbuf []byte
	for valid := it.First(); valid; valid = it.Next() {
		k, ts, err := mvcc.DecodeKey(kbuf[:0], it.Key())
		if err != nil {
			return err
		}
		kbuf = k
		raw, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		v, tomb, err := mvcc.DecodeValue(raw)
		if err != nil {
			return err
		}
		if err := fn(k, ts, v, tomb); err != nil {
			return err
		}
	}
	return it.Error()
}

// KeyRange returns the user keys of the first and last versions in
// [start, end) (copies); ok is false when the range holds none. A loader
// learns from them, before it copies anything, the prefix that every key of
// the range shares.
func (r Reader) KeyRange(start, end []byte) (first, last []byte, ok bool, err error) {
	it, err := r.src.NewIter(bounds(start, end))
	if err != nil {
		return nil, nil, false, err
	}
	defer it.Close()
	if !it.First() {
		return nil, nil, false, it.Error()
	}
	if first, _, err = mvcc.DecodeKey(nil, it.Key()); err != nil {
		return nil, nil, false, err
	}
	if !it.Last() {
		return nil, nil, false, it.Error()
	}
	if last, _, err = mvcc.DecodeKey(nil, it.Key()); err != nil {
		return nil, nil, false, err
	}
	return first, last, true, nil
}

// EncodedVersions calls fn with the encoded key and value of every version
// in [start, end) in order, as Pebble holds them (mvcc.DecodeKey and
// mvcc.DecodeValue read them): a loader that decodes elsewhere (on another
// goroutine) iterates with no decoding here. The slices are valid only
// during the call. If fn returns an error, iteration stops and
// EncodedVersions returns it.
func (r Reader) EncodedVersions(start, end []byte, fn func(key, value []byte) error) error {
	it, err := r.src.NewIter(bounds(start, end))
	if err != nil {
		return err
	}
	defer it.Close()
	for valid := it.First(); valid; valid = it.Next() {
		raw, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		if err := fn(it.Key(), raw); err != nil {
			return err
		}
	}
	return it.Error()
}

// ErrLocked: the directory is in use by another engine.
var ErrLocked = errors.New("regioncache: directory locked")

// lockHolder says who holds the directory lock Pebble failed to take:
// another process (EAGAIN or EACCES from fcntl) or another engine of this
// one; "" when the failure is not a held lock.
func lockHolder(err error) string {
	switch {
	case strings.Contains(err.Error(), "lock held by current process"):
		return "another engine in this process (open and not closed yet)"
	case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES):
		return "another process"
	}
	return ""
}

func dirName(dir string) string {
	if dir == "" {
		return "memory"
	}
	return dir
}
