package benchmarks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/regioncache/regioncache/internal/workload"

	"github.com/regioncache/regioncache"
)

// sizes is the scale of a run.
type sizes struct {
	Name string // "full", "quick" or "tiny" (tests)

	LoadKeys int // keys of the region loaded for load_vs_scan, memory, gets and read_during_load
	LoadReps int // loads timed (median)
	GetOps   int // random point gets per side

	MVCCKeys  int // user keys of the MVCC region (and its twin), 10 versions each
	MVCCScans int // 100-key scans per side

	WriteKeys      int // user keys in each write region
	WriteBatches   int // batches per side
	WriteBatchSize int
	WriteRounds    int // the batches of each side are split into rounds, sides alternating

	ReadRegions    int // active regions read by read_during_load
	ReadRegionKeys int
	ReadReps       int

	DedupRequests   int
	DedupRegions    int
	DedupGoroutines int
	DedupReps       int // storms per side; each engine storm on a fresh engine

	Regions       int           // regions registered by regions_1m
	RegionsBudget time.Duration // registration stops (and says so) past this

	// Workload is the run of demo workload whose figures the bench reports
	// (the quick run, at both scales).
	Workload workload.Config
}

// testSizes, when set (by tests), replaces the sizes of every run.
var testSizes *sizes

func sizesFor(quick bool) sizes {
	if testSizes != nil {
		return *testSizes
	}
	if quick {
		return sizes{
			Name:     "quick",
			LoadKeys: 200_000, LoadReps: 2, GetOps: 40_000,
			MVCCKeys: 20_000, MVCCScans: 4_000,
			WriteKeys: 20_000, WriteBatches: 400, WriteBatchSize: 100, WriteRounds: 20,
			ReadRegions: 4, ReadRegionKeys: 5_000, ReadReps: 3,
			DedupRequests: 100_000, DedupRegions: 1_000, DedupGoroutines: 16, DedupReps: 3,
			Regions: 100_000, RegionsBudget: 8 * time.Second,
			Workload: workload.Quick(),
		}
	}
	return sizes{
		Name:     "full",
		LoadKeys: 1_000_000, LoadReps: 3, GetOps: 200_000,
		MVCCKeys: 100_000, MVCCScans: 20_000,
		WriteKeys: 100_000, WriteBatches: 2_000, WriteBatchSize: 100, WriteRounds: 50,
		ReadRegions: 4, ReadRegionKeys: 25_000, ReadReps: 5,
		DedupRequests: 100_000, DedupRegions: 1_000, DedupGoroutines: 16, DedupReps: 3,
		Regions: 1_000_000, RegionsBudget: 5 * time.Minute,
		Workload: workload.Quick(),
	}
}

// tinySizes is a scale at which a whole run takes seconds, even under the
// race detector; for tests only.
var tinySizes = sizes{
	Name:     "tiny",
	LoadKeys: 3_000, LoadReps: 1, GetOps: 300,
	MVCCKeys: 300, MVCCScans: 50,
	WriteKeys: 300, WriteBatches: 20, WriteBatchSize: 10, WriteRounds: 2,
	ReadRegions: 2, ReadRegionKeys: 200, ReadReps: 1,
	DedupRequests: 2_000, DedupRegions: 50, DedupGoroutines: 4, DedupReps: 1,
	Regions: 300, RegionsBudget: 20 * time.Second,
	Workload: workload.Config{Regions: 4, KeysPerRegion: 10, Versions: 5, Ops: 2000, Chunk: 100, Readers: 2,
		SafePointLag: 10, ManualRounds: true, Interval: time.Hour},
}

// Data layout. Every user key is 24 bytes: a 3-byte tag naming its region
// and a 21-digit index, all ASCII (no byte the MVCC encoding must escape).
// Values are 100 bytes: 50 pseudo-random bytes repeated twice (about 2x
// compressible, as in db_bench and the performance anchors).
const (
	keyLen   = 24
	valueLen = 100
	tagLen   = 3
)

// keyspace is the keys of one region: tag + index, [0, n).
type keyspace struct {
	tag string // 3 bytes, ending in '/'
	n   int
}

func (k keyspace) key(i int) []byte { return appendKey(make([]byte, 0, keyLen), k.tag, i) }

func appendKey(dst []byte, tag string, i int) []byte {
	dst = append(dst, tag...)
	var digits [keyLen - tagLen]byte
	for j := len(digits) - 1; j >= 0; j-- {
		digits[j] = byte('0' + i%10)
		i /= 10
	}
	return append(dst, digits[:]...)
}

// region is the region holding exactly the keyspace: [tag, tag with its last
// byte raised).
func (k keyspace) region(id uint64) regioncache.Region {
	end := []byte(k.tag)
	end[len(end)-1]++
	return regioncache.Region{ID: id, Version: 1, Start: []byte(k.tag), End: end}
}

func (k keyspace) logicalBytes() int64 { return int64(k.n) * (keyLen + valueLen) }

// fillValue writes the value of (key index i, version v) into dst[:valueLen].
func fillValue(dst []byte, seed uint64, i, v int) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(i)<<8|uint64(v)))
	dst = dst[:valueLen]
	for j := 0; j < valueLen/2; j += 8 {
		x := r.Uint64()
		for b := 0; b < 8 && j+b < valueLen/2; b++ {
			dst[j+b] = byte(x >> (8 * b))
		}
	}
	copy(dst[valueLen/2:], dst[:valueLen/2])
	return dst
}

// The shared data set. A twin holds the same values under another tag, so
// one side of a ratio can be cached while the other is not, and the two can
// be measured in alternating small chunks (fair under a noisy machine).
type dataset struct {
	load     keyspace   // 1 version at tsBase
	loadTwin keyspace   // the same data: the Pebble side of get_speedup
	mvcc     keyspace   // versions at 10, 20, ... 100
	mvccTwin keyspace   // the same data: the Pebble side of mvcc_scan_speedup
	writeA   keyspace   // written to while its region is active
	writeB   keyspace   // written to while its region is not cached
	reads    []keyspace // active regions read by read_during_load
}

const (
	tsBase      = 10
	mvccVersion = 10 // versions per MVCC key, at ts 10, 20, ... 100
	mvccReadTs  = 100
	// mvccSafePoint is the GC safe point of mvcc_scan_speedup: recent (below
	// the newest version), so a cached key keeps ts 100 and ts 90.
	mvccSafePoint = 95
	readTs        = 1 << 20 // reads of single-version data see the newest version
	writeTsBase   = 1 << 21 // write_overhead writes above every read
)

// Region ids of the shared engine.
const (
	idLoad = 1 + iota
	idLoadTwin
	idMVCC
	idMVCCTwin
	idWriteA
	idWriteB
	idReadBase // idReadBase+i for the read regions
)

func newDataset(sz sizes) dataset {
	d := dataset{
		load:     keyspace{"ld/", sz.LoadKeys},
		loadTwin: keyspace{"lt/", sz.LoadKeys},
		mvcc:     keyspace{"mv/", sz.MVCCKeys},
		mvccTwin: keyspace{"mt/", sz.MVCCKeys},
		writeA:   keyspace{"wa/", sz.WriteKeys},
		writeB:   keyspace{"wb/", sz.WriteKeys},
	}
	for i := 0; i < sz.ReadRegions; i++ {
		d.reads = append(d.reads, keyspace{fmt.Sprintf("r%d/", i), sz.ReadRegionKeys})
	}
	return d
}

// writeKeyspace writes the keys of ks through Engine.Write in batches of about 1000 versions,
// versions versions each (ts tsBase*(v+1)).
func writeKeyspace(ctx context.Context, e *regioncache.Engine, ks keyspace, versions int, seed uint64) error {
	b := new(regioncache.Batch)
	kbuf := make([]byte, 0, keyLen)
	vbuf := make([]byte, valueLen)
	for i := 0; i < ks.n; i++ {
		kbuf = appendKey(kbuf[:0], ks.tag, i)
		for v := 0; v < versions; v++ {
			b.Put(kbuf, uint64(tsBase*(v+1)), fillValue(vbuf, seed, i, v))
		}
		if b.Len() >= 1000 || i == ks.n-1 {
			if err := e.Write(b); err != nil {
				return err
			}
			b = new(regioncache.Batch)
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// quietLogger discards Pebble's messages, as diskengine does.
type quietLogger struct{}

func (quietLogger) Infof(string, ...interface{})  {}
func (quietLogger) Errorf(string, ...interface{}) {}
func (quietLogger) Fatalf(format string, args ...interface{}) {
	panic(fmt.Sprintf(format, args...))
}

// pebbleOptions are the options diskengine.Open gives Pebble (defaults, its
// logger), so the raw side reads with the engine's configuration.
// benchDurability: every engine a benchmark opens commits without syncing,
// as the Pebble-alone sides do, so that both sides of a comparison pay the
// same for durability (nothing) and an fsync does not hide the engine's
// own cost. Synced writes are the engine's default; see Durability.
const benchDurability = regioncache.DurabilityNoSync

func pebbleOptions() *pebble.Options { return &pebble.Options{Logger: quietLogger{}} }

// fixture is the shared data set on disk: engineDir holds it for the engine,
// rawDir is a Pebble checkpoint of the same sstables (hard links) for the raw
// side.
type fixture struct {
	root, engineDir, rawDir string
	data                    dataset
	prepare                 time.Duration
}

// prepareFixture writes the data set through the engine's public API
// (Engine.Write in 1000-version batches into its Pebble directory), closes
// the engine, then flushes and fully compacts that directory with Pebble
// itself (so no background compaction runs during measurements, and every
// Pebble read is over one settled LSM) and checkpoints it for the raw side.
func prepareFixture(ctx context.Context, sz sizes, p progress) (*fixture, error) {
	start := time.Now()
	root, err := os.MkdirTemp("", "regioncache-bench-")
	if err != nil {
		return nil, err
	}
	fx := &fixture{root: root, engineDir: filepath.Join(root, "engine"), rawDir: filepath.Join(root, "raw"), data: newDataset(sz)}
	fail := func(err error) (*fixture, error) { fx.remove(); return nil, err }
	e, err := regioncache.Open(regioncache.Options{Dir: fx.engineDir, Durability: benchDurability})
	if err != nil {
		return fail(err)
	}
	d := fx.data
	type job struct {
		ks       keyspace
		versions int
		seed     uint64 // twins share a seed: the same values
	}
	jobs := []job{{d.load, 1, 1}, {d.loadTwin, 1, 1}, {d.mvcc, mvccVersion, 2}, {d.mvccTwin, mvccVersion, 2}, {d.writeA, 1, 3}, {d.writeB, 1, 4}}
	for i, r := range d.reads {
		jobs = append(jobs, job{r, 1, uint64(5 + i)})
	}
	for _, j := range jobs {
		p.printf("prepare: writing %d keys x %d versions of %q", j.ks.n, j.versions, j.ks.tag)
		if err := writeKeyspace(ctx, e, j.ks, j.versions, j.seed); err != nil {
			e.Close()
			return fail(err)
		}
	}
	if err := e.Close(); err != nil {
		return fail(err)
	}
	p.printf("prepare: flushing and compacting the Pebble directory")
	db, err := pebble.Open(fx.engineDir, pebbleOptions())
	if err != nil {
		return fail(err)
	}
	err = db.Flush()
	if err == nil {
		err = db.Compact(ctx, []byte{0}, []byte{0xff, 0xff}, true)
	}
	if err == nil {
		err = db.Checkpoint(fx.rawDir)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}
	fx.prepare = time.Since(start)
	return fx, nil
}

func (fx *fixture) remove() { os.RemoveAll(fx.root) }
