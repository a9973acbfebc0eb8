package regioncache_test

import (
	"errors"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

// TestMetricsCounterNames: Metrics.Counter knows exactly the spec's
// counters, Counters lists them all, and any other name is
// ErrUnknownCounter.
func TestMetricsCounterNames(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{})
	if err := e.Put([]byte("k"), 1, []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Get([]byte("k"), 2); err != nil {
		t.Fatal(err)
	}
	m := testutil.Metrics(t, e)
	all := m.Counters()
	if len(all) != 11 {
		t.Fatalf("Counters has %d names: %v", len(all), all)
	}
	for name, v := range all {
		got, err := m.Counter(name)
		if err != nil || got != v {
			t.Errorf("Counter(%s) = %d, %v; Counters says %d", name, got, err, v)
		}
	}
	if all["reads_disk"] != 1 {
		t.Errorf("reads_disk = %d after one read from disk", all["reads_disk"])
	}
	for _, bad := range []string{"", "reads", "loads_total", "Evictions"} {
		if _, err := m.Counter(bad); !errors.Is(err, regioncache.ErrUnknownCounter) {
			t.Errorf("Counter(%q): %v, want ErrUnknownCounter", bad, err)
		}
	}
}
