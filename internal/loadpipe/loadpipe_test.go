package loadpipe

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/regioncache/regioncache/internal/diskengine"
	"github.com/regioncache/regioncache/internal/memstore"
	"github.com/regioncache/regioncache/internal/mvcc"
	"github.com/regioncache/regioncache/internal/testutil/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// shape is a data set the copy is checked on.
type shape struct {
	name      string
	keys      int
	versions  int     // at most, per key
	zeroKeys  bool    // keys with 0x00 bytes (escaped in Pebble's encoding)
	tombs     float64 // share of delete markers
	bigEvery  int     // every bigEvery-th value is larger than a batch (0: none)
	valueLen  int
	safePoint uint64
}

var shapes = []shape{
	{name: "empty", keys: 0, versions: 1, valueLen: 10},
	{name: "one version", keys: 1, versions: 1, valueLen: 10},
	{name: "below the pipe's start", keys: 100, versions: 3, valueLen: 50},
	{name: "just past the pipe's start", keys: PipeAfter + 1, versions: 1, valueLen: 50},
	{name: "benchmark shape", keys: 30_000, versions: 1, valueLen: 100},
	{name: "many versions and markers", keys: 5_000, versions: 6, tombs: 0.2, valueLen: 40},
	{name: "escaped keys", keys: 8_000, versions: 2, zeroKeys: true, valueLen: 30},
	{name: "values larger than a batch", keys: 3_000, versions: 2, bigEvery: 500, valueLen: 64},
	{name: "with a safe point", keys: 6_000, versions: 5, tombs: 0.3, valueLen: 20, safePoint: 25},
}

// fill writes the shape into a fresh in-memory Pebble and returns it with
// the versions written, in run order.
func fill(t *testing.T, s shape) (*diskengine.DB, []mvcc.Version) {
	t.Helper()
	db, err := diskengine.Open(diskengine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rng := rand.New(rand.NewPCG(uint64(len(s.name)), uint64(s.keys)))
	var all []mvcc.Version
	var batch []mvcc.Mutation
	for i := 0; i < s.keys; i++ {
		key := []byte(fmt.Sprintf("k/%08d", i))
		if s.zeroKeys && i%3 != 0 {
			key = append(key, 0, byte(i), 0)
		}
		nv := 1 + rng.IntN(s.versions)
		for j := nv; j >= 1; j-- {
			v := mvcc.Version{Key: key, Ts: uint64(10 * j)}
			if rng.Float64() < s.tombs {
				v.Tombstone = true
			} else {
				n := s.valueLen
				if s.bigEvery > 0 && (i*7+j)%s.bigEvery == 0 {
					n = batchBytes + 1000 + i
				}
				v.Value = bytes.Repeat([]byte{byte('a' + (i+j)%26)}, n)
			}
			all = append(all, v)
			batch = append(batch, v)
		}
		if len(batch) >= 1000 {
			if _, err := db.Commit(batch, false); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		if _, err := db.Commit(batch, false); err != nil {
			t.Fatal(err)
		}
	}
	return db, all
}

var (
	regionStart = []byte("k/")
	regionEnd   = []byte("k0")
)

// snapshotSource is the loader's source: the encoded versions of a Pebble
// snapshot's range; it bounds the builder by the first and last keys.
func snapshotSource(t *testing.T, db *diskengine.DB, b *memstore.RunBuilder) Source {
	snap := db.NewSnapshot()
	t.Cleanup(func() { snap.Close() })
	r := snap.Reader()
	first, last, ok, err := r.KeyRange(regionStart, regionEnd)
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		b.Within(first, last)
	}
	return func(yield func(k, v []byte) error) error { return r.EncodedVersions(regionStart, regionEnd, yield) }
}

// referenceRun builds the run the way the loader did before the pipeline:
// decoded versions into a builder on one goroutine, bounded by the region.
func referenceRun(t *testing.T, db *diskengine.DB, safePoint uint64) *memstore.Run {
	t.Helper()
	b := memstore.NewRunBuilder(safePoint, nil)
	b.Within(regionStart, regionEnd)
	err := db.Reader().Versions(regionStart, regionEnd, func(k []byte, ts uint64, v []byte, tomb bool) error {
		_, err := b.Add(k, ts, v, tomb)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	run, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func versionsOf(r *memstore.Run) []mvcc.Version {
	s := memstore.NewStore()
	s.SetBase(r.Ref(), nil, nil)
	v := s.Snapshot()
	defer v.Release()
	var out []mvcc.Version
	v.Versions(nil, nil, func(x mvcc.Version) bool {
		out = append(out, mvcc.Version{Key: bytes.Clone(x.Key), Ts: x.Ts, Value: bytes.Clone(x.Value), Tombstone: x.Tombstone})
		return true
	})
	return out
}

// TestCopyBuildsWhatTheSnapshotHolds: on every shape, serial, piped with a
// check every 7 versions and piped with the default interval, Copy builds
// the same run as a plain build of the decoded versions: the same versions
// in the same order, the same bytes, and every key found by a point read
// (the record prefixes are right). A copy longer than PipeAfter versions
// goes through the building goroutine, a shorter one does not.
func TestCopyBuildsWhatTheSnapshotHolds(t *testing.T) {
	leaktest.Check(t)
	modes := []struct {
		name string
		opts Options
	}{
		{"serial", Options{Serial: true}},
		{"check every 7", Options{CheckEvery: 7}},
		{"default", Options{}},
	}
	for _, s := range shapes {
		db, written := fill(t, s)
		want := referenceRun(t, db, s.safePoint)
		wantVersions := versionsOf(want)
		if s.safePoint == 0 && len(wantVersions) != len(written) {
			t.Fatalf("%s: the reference run holds %d versions, %d written", s.name, len(wantVersions), len(written))
		}
		for _, m := range modes {
			t.Run(s.name+"/"+m.name, func(t *testing.T) {
				b := memstore.NewRunBuilder(s.safePoint, nil)
				checks, batches := 0, 0
				m.opts.Check = func() error { checks++; return nil }
				m.opts.afterBatch = func() { batches++ }
				n, err := Copy(snapshotSource(t, db, b), b, m.opts)
				if err != nil {
					t.Fatal(err)
				}
				if piped := !m.opts.Serial && n > PipeAfter; piped != (batches > 0) {
					t.Fatalf("%d versions built in %d batches; piped: %v", n, batches, piped)
				}
				if n != len(written) {
					t.Fatalf("Copy read %d versions, %d written", n, len(written))
				}
				every := m.opts.CheckEvery
				if every == 0 {
					every = DefaultCheckEvery
				}
				if checks != n/every {
					t.Fatalf("%d checks for %d versions, want one every %d", checks, n, every)
				}
				got, err := b.Finish()
				if err != nil {
					t.Fatal(err)
				}
				gotVersions := versionsOf(got)
				if len(gotVersions) != len(wantVersions) {
					t.Fatalf("%d versions, want %d", len(gotVersions), len(wantVersions))
				}
				for i := range wantVersions {
					g, w := gotVersions[i], wantVersions[i]
					if !bytes.Equal(g.Key, w.Key) || g.Ts != w.Ts || g.Tombstone != w.Tombstone || !bytes.Equal(g.Value, w.Value) {
						t.Fatalf("version %d: %s@%d, want %s@%d", i, mvcc.FormatKey(g.Key), g.Ts, mvcc.FormatKey(w.Key), w.Ts)
					}
				}
				if got.Bytes() != want.Bytes() {
					t.Fatalf("run of %d bytes, want %d", got.Bytes(), want.Bytes())
				}
				st := memstore.NewStore()
				st.SetBase(got.Ref(), nil, nil)
				view := st.Snapshot()
				defer view.Release()
				for _, w := range wantVersions {
					val, found := view.Get(w.Key, w.Ts)
					if found == w.Tombstone || !bytes.Equal(val, w.Value) {
						t.Fatalf("Get(%s, %d) = %q, %v; want the version written", mvcc.FormatKey(w.Key), w.Ts, val, found)
					}
				}
			})
		}
	}
}

// bigShape is a copy long enough to fill the whole ring many times over.
var bigShape = shape{name: "big", keys: 60_000, versions: 1, valueLen: 100}

// stopAtFirstBatch makes the building goroutine stop after its first batch
// until the test lets it go: the copy is then mid-pipeline, the iterating
// side running ahead to fill the ring.
func stopAtFirstBatch() (o Options, reached, release chan struct{}) {
	reached, release = make(chan struct{}), make(chan struct{})
	first := true
	o.afterBatch = func() {
		if first {
			first = false
			close(reached)
			<-release
		}
	}
	return o, reached, release
}

// TestCancelMidPipeline: a cancel seen by the iterating side while the
// building side is busy stops both: Copy returns the cancel's error and no
// goroutine outlives it.
func TestCancelMidPipeline(t *testing.T) {
	leaktest.Check(t)
	db, _ := fill(t, bigShape)
	errCanceled := errors.New("canceled by the test")
	for _, during := range []string{"building", "iterating"} {
		t.Run(during, func(t *testing.T) {
			b := memstore.NewRunBuilder(0, nil)
			defer b.Abort()
			o, reached, release := stopAtFirstBatch()
			var canceled atomic.Bool
			o.CheckEvery = 100
			o.Check = func() error {
				if canceled.Load() {
					return errCanceled
				}
				return nil
			}
			src := snapshotSource(t, db, b)
			if during == "iterating" {
				// The cancel comes while the iterating side reads: at its
				// 3000th version (a few batches handed over, the ring far
				// from full) it waits for the builder to stop at its first
				// batch, sets the flag and lets the builder go.
				inner := src
				src = func(yield func(k, v []byte) error) error {
					i := 0
					return inner(func(k, v []byte) error {
						if i++; i == 3000 {
							<-reached
							canceled.Store(true)
							close(release)
						}
						return yield(k, v)
					})
				}
			}
			done := make(chan error, 1)
			var n int
			go func() {
				var err error
				n, err = Copy(src, b, o)
				done <- err
			}()
			<-reached
			if during == "building" {
				canceled.Store(true)
				close(release)
			}
			err := <-done
			if !errors.Is(err, errCanceled) {
				t.Fatalf("Copy = %v, want the cancel's error", err)
			}
			if n >= bigShape.keys {
				t.Fatalf("Copy read all %d versions despite the cancel", n)
			}
		})
	}
}

// TestBuilderErrorStopsTheIteration: the building side's error (the memory
// account refusing a chunk) is Copy's, and the iteration stops early.
func TestBuilderErrorStopsTheIteration(t *testing.T) {
	leaktest.Check(t)
	db, _ := fill(t, bigShape)
	errFull := errors.New("memory account full")
	var reserved int64
	b := memstore.NewRunBuilder(0, func(n int64) error {
		if reserved+n > 1<<20 {
			return errFull
		}
		reserved += n
		return nil
	})
	defer b.Abort()
	n, err := Copy(snapshotSource(t, db, b), b, Options{CheckEvery: 50})
	if !errors.Is(err, errFull) {
		t.Fatalf("Copy = %v, want the account's error", err)
	}
	if n >= bigShape.keys {
		t.Fatalf("the iteration read all %d versions after the builder failed", n)
	}
}

// TestErrorsOfEitherSide: whichever side fails, Copy returns its error and
// joins the other.
func TestErrorsOfEitherSide(t *testing.T) {
	leaktest.Check(t)
	db, _ := fill(t, bigShape)
	errSource := errors.New("disk read failed")
	cases := []struct {
		name string
		// wrap turns the snapshot's source into the failing one.
		wrap func(Source) Source
		want func(error) bool
	}{
		{"source fails mid-copy", func(src Source) Source {
			return func(yield func(k, v []byte) error) error {
				i := 0
				return src(func(k, v []byte) error {
					if i++; i == 20_000 {
						return errSource
					}
					return yield(k, v)
				})
			}
		}, func(err error) bool { return errors.Is(err, errSource) }},
		{"corrupt key", corruptAt(20_000, func(k, v []byte) ([]byte, []byte) { return k[:len(k)-9], v }),
			func(err error) bool { return errors.Is(err, mvcc.ErrCorrupt) }},
		{"corrupt value", corruptAt(20_000, func(k, v []byte) ([]byte, []byte) { return k, []byte("?") }),
			func(err error) bool { return errors.Is(err, mvcc.ErrCorrupt) }},
		{"out of order", corruptAt(20_000, func(k, v []byte) ([]byte, []byte) { return mvcc.EncodeKey([]byte("k/"), 5), v }),
			func(err error) bool { return errors.Is(err, memstore.ErrOutOfOrder) }},
	}
	for _, c := range cases {
		for _, serial := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/serial=%v", c.name, serial), func(t *testing.T) {
				b := memstore.NewRunBuilder(0, nil)
				defer b.Abort()
				_, err := Copy(c.wrap(snapshotSource(t, db, b)), b, Options{CheckEvery: 100, Serial: serial})
				if !c.want(err) {
					t.Fatalf("Copy = %v", err)
				}
			})
		}
	}
}

// corruptAt replaces the i-th version the source yields.
func corruptAt(i int, f func(k, v []byte) ([]byte, []byte)) func(Source) Source {
	return func(src Source) Source {
		return func(yield func(k, v []byte) error) error {
			n := 0
			return src(func(k, v []byte) error {
				if n++; n == i {
					k, v = f(k, v)
				}
				return yield(k, v)
			})
		}
	}
}

// TestPanicsAreJoined: a panic of the building goroutine reaches Copy's
// caller (where the loader's panic guard answers it), and a panic of the
// source stops the building goroutine before it goes on up; neither leaves
// a goroutine behind.
func TestPanicsAreJoined(t *testing.T) {
	leaktest.Check(t)
	db, _ := fill(t, bigShape)
	t.Run("building goroutine", func(t *testing.T) {
		var reserved int64
		b := memstore.NewRunBuilder(0, func(n int64) error {
			if reserved += n; reserved > 1<<20 {
				panic("reserve exploded")
			}
			return nil
		})
		p := catch(func() { _, _ = Copy(snapshotSource(t, db, b), b, Options{CheckEvery: 50}) })
		if s, _ := p.(string); !strings.Contains(s, "reserve exploded") {
			t.Fatalf("Copy's caller saw panic %v, want the building goroutine's", p)
		}
	})
	t.Run("source", func(t *testing.T) {
		b := memstore.NewRunBuilder(0, nil)
		defer b.Abort()
		src := snapshotSource(t, db, b)
		p := catch(func() {
			_, _ = Copy(func(yield func(k, v []byte) error) error {
				n := 0
				return src(func(k, v []byte) error {
					if n++; n == 30_000 {
						panic("source exploded")
					}
					return yield(k, v)
				})
			}, b, Options{CheckEvery: 50})
		})
		if p != "source exploded" {
			t.Fatalf("Copy's caller saw panic %v, want the source's", p)
		}
	})
}

func catch(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}
