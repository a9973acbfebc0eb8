package workload

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"

	"github.com/regioncache/regioncache"
)

// table is the host's region table: region r is [RegionStart(r),
// RegionStart(r+1)), id r+1, version 1.
func table(n int) []regioncache.Region {
	out := make([]regioncache.Region, n)
	for r := range out {
		out[r] = regioncache.Region{ID: uint64(r + 1), Version: 1, Start: RegionStart(uint32(r)), End: RegionStart(uint32(r + 1))}
	}
	return out
}

// mix64 is a fixed hash of a few numbers (splitmix64 steps).
func mix64(xs ...uint64) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	for _, x := range xs {
		h ^= x + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
		h ^= h >> 30
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 27
		h *= 0x94d049bb133111eb
		h ^= h >> 31
	}
	return h
}

// isDelete decides, the same on both sides, whether a version is a delete
// marker.
func isDelete(share float64, xs ...uint64) bool {
	return float64(mix64(xs...)>>11)/float64(1<<53) < share
}

// value is the value of key (r, k) at ts: half random, half repeated, so
// it compresses about 2x, as a real value does.
func value(size int, r, k uint32, ts uint64) []byte {
	out := make([]byte, size)
	h := mix64(uint64(r), uint64(k), ts)
	half := (size + 1) / 2
	for i := 0; i < half; i++ {
		if i%8 == 0 && i > 0 {
			h = mix64(h)
		}
		out[i] = 'a' + byte(h>>(8*(i%8)))%26
	}
	copy(out[half:], out[:size-half])
	return out
}

// build writes the initial data: every key with Versions versions.
func build(ctx context.Context, e *regioncache.Engine, cfg Config) error {
	b := new(regioncache.Batch)
	for r := uint32(0); r < uint32(cfg.Regions); r++ {
		for k := uint32(0); k < uint32(cfg.KeysPerRegion); k++ {
			key := Key(r, k)
			for j := 0; j < cfg.Versions; j++ {
				ts := uint64(j+1) * Stride
				if isDelete(cfg.DeleteShare, uint64(r), uint64(k), ts) {
					b.Delete(key, ts)
				} else {
					b.Put(key, ts, value(cfg.ValueSize, r, k, ts))
				}
			}
			if b.Len() >= 4096 {
				if err := e.Write(b); err != nil {
					return err
				}
				b = new(regioncache.Batch)
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
	}
	return e.Write(b)
}

// dirBytes is the size of the files under dir.
func dirBytes(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// answerHash digests an answer, so that the two sides' can be compared.
func answerHash(kind Kind, found bool, value []byte, pairs []regioncache.KV) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%t/%d:", kind, found, len(pairs))
	h.Write(value)
	for _, p := range pairs {
		h.Write(p.Key)
		h.Write([]byte{0})
		h.Write(p.Value)
		h.Write([]byte{0})
	}
	return h.Sum64() | 1 // never 0: 0 means "not sampled"
}
