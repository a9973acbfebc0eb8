package regioncache

import (
	"testing"
	"time"
)

// TestDeclaredRegionsCountReadsAtOnce: once DeclareRegions returns, the read
// tracker knows the declared regions, so the host's next reads count toward
// the next auto round. The table used to be published by a message the
// supervisor sent itself after replying; a host that read first (a loaded
// machine) lost those reads, and TestAutoLoadEvictFollowsTheHotSet then
// waited for loads no round planned.
func TestDeclaredRegionsCountReadsAtOnce(t *testing.T) {
	e, err := Open(Options{AutoLoadEvict: AutoLoadEvict{Enabled: true, Interval: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	}()
	regions := []Region{
		{ID: 1, Version: 1, Start: []byte("a"), End: []byte("b")},
		{ID: 2, Version: 1, Start: []byte("b"), End: []byte("c")},
	}
	if err := e.DeclareRegions(regions); err != nil {
		t.Fatal(err)
	}
	e.heat.Record([]byte("a1"), 1, 1)
	reads := map[uint64]int64{}
	for _, s := range e.heat.Drain() {
		reads[s.Region.ID] += s.Reads
	}
	if len(reads) != len(regions) || reads[1] != 1 {
		t.Fatalf("reads per declared region right after DeclareRegions: %v, want region 1 with one read of 2 known", reads)
	}
}
