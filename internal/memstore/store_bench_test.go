package memstore

// Micro-benchmarks of the store (base run + write layer), on the data shape
// of the engine benchmarks (24-byte keys, 100-byte values):
//
//	go test ./internal/memstore -run '^$' -bench 'Run|Store' -benchtime 3x

import (
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/regioncache/regioncache/internal/mvcc"
)

// buildRun builds a run of n keys with versions versions each (ts 10*v
// descending), the loader's path without Pebble.
func buildBenchRun(tb testing.TB, n, versions int) *Run {
	b := NewRunBuilder(0, nil)
	k := make([]byte, 0, benchKeyLen)
	v := make([]byte, benchValueLen+8)
	for i := 0; i < n; i++ {
		key := benchKey(k, i)
		for j := versions; j >= 1; j-- {
			if _, err := b.Add(key, uint64(10*j), benchValue(v, i+j), false); err != nil {
				tb.Fatal(err)
			}
		}
	}
	r, err := b.Finish()
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func benchStore(tb testing.TB, n, versions int) *Store {
	s := NewStore()
	s.SetBase(buildBenchRun(tb, n, versions), nil, nil)
	return s
}

// BenchmarkRunBuild: one op builds a 100k-version run from sorted input.
func BenchmarkRunBuild(b *testing.B) {
	const n = 100_000
	b.SetBytes(n * (benchKeyLen + benchValueLen))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if r := buildBenchRun(b, n, 1); r.Len() != n {
			b.Fatalf("%d versions", r.Len())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/version")
	b.ReportMetric(float64(testing.AllocsPerRun(1, func() { buildBenchRun(b, n, 1) }))/n, "allocs/version")
}

// BenchmarkStoreGet: one op is a Get of a random key of a 1M-version store
// (empty write layer, and with a full write layer over it).
func BenchmarkStoreGet(b *testing.B) {
	const n = 1_000_000
	s := benchStore(b, n, 1)
	r := rand.New(rand.NewPCG(1, 2))
	keys := make([][]byte, 1<<16)
	for i := range keys {
		keys[i] = benchKey(nil, r.IntN(n))
	}
	run := func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, ok := s.Get(keys[i%len(keys)], 2000); !ok {
				b.Fatal("not found")
			}
		}
	}
	b.Run("base", run)
	fillWrites(s, r, n, WriteLimit(n), 1000)
	b.Run("with-writes", run)
}

// fillWrites writes versions versions of random keys of an n-key store at
// ts, in batches of benchBatch as the engine's benchmarks do.
func fillWrites(s *Store, r *rand.Rand, n, versions int, ts uint64) {
	batch := make([]mvcc.Mutation, 0, benchBatch)
	for i := 0; i < versions; i++ {
		x := r.IntN(n)
		batch = append(batch, mvcc.Mutation{Key: benchKey(nil, x), Ts: ts, Value: benchValue(make([]byte, benchValueLen), x)})
		if len(batch) == benchBatch || i == versions-1 {
			s.Write(batch)
			batch = batch[:0]
		}
	}
}

// benchBatch is the versions per batch of the write benchmarks, as in
// write_overhead.
const benchBatch = 100

// BenchmarkStoreWrite: one op writes a batch of 100 new versions of random
// keys over a 1M-version base run (the write path of an active region), the
// write layer reset to empty whenever it reaches WriteLimit, as compaction
// does.
func BenchmarkStoreWrite(b *testing.B) {
	const n = 1_000_000
	s := benchStore(b, n, 1)
	base := s.base
	r := rand.New(rand.NewPCG(3, 4))
	batches := make([][]mvcc.Mutation, 64)
	for i := range batches {
		for j := 0; j < benchBatch; j++ {
			x := r.IntN(n)
			batches[i] = append(batches[i], mvcc.Mutation{Key: benchKey(nil, x), Value: benchValue(make([]byte, benchValueLen), x)})
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if s.WriteLen() >= WriteLimit(n) {
			b.StopTimer()
			s = NewStore()
			s.SetBase(base, nil, nil)
			b.StartTimer()
		}
		batch := batches[i%len(batches)]
		for j := range batch {
			batch[j].Ts = uint64(100 + i)
		}
		s.Write(batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/version")
}

// BenchmarkStoreScan100: one op visits 100 keys from a random start, over
// one version per key (also under a full write layer) and over ten (the
// MVCC shape after GC keeps two).
func BenchmarkStoreScan100(b *testing.B) {
	for _, versions := range []int{1, 2, 10} {
		const n = 200_000
		s := benchStore(b, n, versions)
		r := rand.New(rand.NewPCG(5, 6))
		keys := make([][]byte, 1<<16)
		for i := range keys {
			keys[i] = benchKey(nil, r.IntN(n-100))
		}
		name := map[int]string{1: "1-version", 2: "2-versions", 10: "10-versions"}[versions]
		run := func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				seen := 0
				s.Scan(keys[i%len(keys)], nil, 2000, func(k, v []byte) bool { seen++; return seen < 100 })
			}
		}
		b.Run(name, run)
		if versions == 1 {
			// The same with a full write layer over the run (its segments
			// merged into the scan).
			fillWrites(s, r, n, WriteLimit(n), 1500)
			b.Run(name+"-with-writes", run)
		}
	}
}

// BenchmarkStoreAppendScan100: one op copies out 100 keys from a random
// start as the data plane's scans do (a result slice sized for them, the
// pairs copied into memory of their own), over one, two and ten versions
// per key.
func BenchmarkStoreAppendScan100(b *testing.B) {
	for _, versions := range []int{1, 2, 10} {
		const n = 200_000
		s := benchStore(b, n, versions)
		r := rand.New(rand.NewPCG(5, 6))
		keys := make([][]byte, 1<<16)
		for i := range keys {
			keys[i] = benchKey(nil, r.IntN(n-100))
		}
		b.Run(map[int]string{1: "1-version", 2: "2-versions", 10: "10-versions"}[versions], func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if out, _ := s.AppendScan(make([]mvcc.KV, 0, 100), keys[i%len(keys)], nil, 1000, 100); len(out) != 100 {
					b.Fatalf("%d pairs", len(out))
				}
			}
		})
	}
}

// BenchmarkCompact: one op compacts a 1M-version base run with a full
// write layer into a new run.
func BenchmarkCompact(b *testing.B) {
	const n = 1_000_000
	s := benchStore(b, n, 1)
	fillWrites(s, rand.New(rand.NewPCG(9, 9)), n, WriteLimit(n), 1000)
	view := s.Snapshot()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Compact(view, 0, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(n+WriteLimit(n))), "ns/version")
}

// BenchmarkRunOverhead measures the heap a loaded version costs beyond its
// key and value bytes (1M versions, one per key), and the heap objects a
// run holds: what the garbage collector has to look at.
func BenchmarkRunOverhead(b *testing.B) {
	const n = 1_000_000
	logical := float64(n * (benchKeyLen + benchValueLen))
	var perVersion, accounted, objects float64
	for i := 0; i < b.N; i++ {
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		r := buildBenchRun(b, n, 1)
		runtime.GC()
		runtime.ReadMemStats(&ms1)
		perVersion = (float64(ms1.HeapAlloc) - float64(ms0.HeapAlloc) - logical) / n
		accounted = (float64(r.Bytes()) - logical) / n
		objects = float64(ms1.HeapObjects) - float64(ms0.HeapObjects)
		runtime.KeepAlive(r)
	}
	b.ReportMetric(perVersion, "heap-overhead-B/version")
	b.ReportMetric(accounted, "accounted-overhead-B/version")
	b.ReportMetric(objects, "heap-objects")
}

const (
	benchKeyLen   = 24
	benchValueLen = 100
)

// benchKey is key i: "bk/" and 21 decimal digits, so keys sort by i.
func benchKey(dst []byte, i int) []byte {
	dst = append(dst[:0], "bk/"...)
	var d [benchKeyLen - 3]byte
	for j := len(d) - 1; j >= 0; j-- {
		d[j] = byte('0' + i%10)
		i /= 10
	}
	return append(dst, d[:]...)
}

// benchValue is value i, 100 bytes.
func benchValue(dst []byte, i int) []byte {
	var w [8]byte
	dst = dst[:benchValueLen]
	for j := 0; j < benchValueLen; j += 8 {
		binary.LittleEndian.PutUint64(w[:], uint64(i)*0x9e3779b97f4a7c15+uint64(j))
		copy(dst[j:], w[:])
	}
	return dst
}
