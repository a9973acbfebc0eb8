package regioncache_test

// Engine tests, per-region statistics: real Pebble (in memory), real actors,
// failpoints to hold work at a known step, waits on conditions; the rig
// (internal/testutil) checks every transition when the test ends.

import (
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

// TestStatsPerRegionMemory: Stats reports each region's memory, and the
// regions' memory adds up to the total.
func TestStatsPerRegionMemory(t *testing.T) {
	r := testutil.NewRig(t, 0)
	a, b := testutil.Reg(1, 1, "k", "l"), testutil.Reg(2, 1, "m", "n")
	r.FillRange("k", 20)
	r.FillRange("m", 5)
	r.MustLoad(a, regioncache.LoadAccepted)
	r.MustLoad(b, regioncache.LoadAccepted)
	r.WaitState(a.ID, regioncache.Active)
	r.WaitState(b.ID, regioncache.Active)
	st := testutil.Metrics(t, r.E)
	var sum int64
	for _, s := range st.Regions {
		if s.MemoryBytes <= 0 {
			t.Errorf("region %s reports %d bytes", s.Region, s.MemoryBytes)
		}
		sum += s.MemoryBytes
	}
	if sum != st.Memory.Used {
		t.Errorf("regions add up to %d bytes, total is %d", sum, st.Memory.Used)
	}
}
