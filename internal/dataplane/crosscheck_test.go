package dataplane

import (
	"testing"

	"github.com/regioncache/regioncache/internal/mvcc"
)

func put(ts uint64, v string) mvcc.Version {
	return mvcc.Version{Key: []byte("k"), Ts: ts, Value: []byte(v)}
}
func del(ts uint64) mvcc.Version { return mvcc.Version{Key: []byte("k"), Ts: ts, Tombstone: true} }

func TestCompareKey(t *testing.T) {
	const sp = 100
	for _, c := range []struct {
		name      string
		mem, disk []mvcc.Version
		diffs     int
	}{
		{"identical", []mvcc.Version{put(150, "b"), put(90, "a")}, []mvcc.Version{put(150, "b"), put(90, "a")}, 0},
		{"older versions GC has dropped", []mvcc.Version{put(150, "b"), put(90, "a")}, []mvcc.Version{put(150, "b"), put(90, "a"), put(80, "z")}, 0},
		{"older versions GC has not dropped yet", []mvcc.Version{put(90, "a"), put(80, "z")}, []mvcc.Version{put(90, "a"), put(80, "z")}, 0},
		{"base delete marker dropped", nil, []mvcc.Version{del(90), put(80, "z")}, 0},
		{"base delete marker kept", []mvcc.Version{del(90)}, []mvcc.Version{del(90), put(80, "z")}, 0},
		{"missing version above the safe point", []mvcc.Version{put(90, "a")}, []mvcc.Version{put(150, "b"), put(90, "a")}, 1},
		{"missing base", []mvcc.Version{put(150, "b")}, []mvcc.Version{put(150, "b"), put(90, "a")}, 1},
		{"different value", []mvcc.Version{put(150, "x")}, []mvcc.Version{put(150, "b")}, 1},
		{"version not on disk", []mvcc.Version{put(150, "b"), put(120, "q")}, []mvcc.Version{put(150, "b")}, 1},
		// The bug the random tests found: a marker at 90 was dropped, and a
		// put at 80 it hides came back.
		{"hidden version resurrected", []mvcc.Version{put(80, "z")}, []mvcc.Version{del(90), put(80, "z")}, 1},
		{"stale base", []mvcc.Version{put(80, "z")}, []mvcc.Version{put(90, "a"), put(80, "z")}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			compareKey(c.mem, c.disk, sp, func(key []byte, ts uint64, memory, disk string) {
				n++
				t.Logf("difference at ts %d: memory %s, disk %s", ts, memory, disk)
			})
			if n != c.diffs {
				t.Fatalf("%d differences, want %d", n, c.diffs)
			}
		})
	}
}
