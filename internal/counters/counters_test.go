package counters_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/regioncache/regioncache/internal/counters"
	"github.com/regioncache/regioncache/internal/testutil/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// TestNames: every constant has its spec name, parses back, and nothing
// else parses.
func TestNames(t *testing.T) {
	if len(counters.All) != len(counters.Names) {
		t.Fatalf("%d constants, %d names", len(counters.All), len(counters.Names))
	}
	for i, n := range counters.All {
		if n.String() != counters.Names[i] {
			t.Errorf("constant %d is %s, spec name %s", i, n, counters.Names[i])
		}
		if got, err := counters.Parse(n.String()); err != nil || got != n {
			t.Errorf("Parse(%s) = %v, %v", n, got, err)
		}
	}
	for _, bad := range []string{"", "loads", "Loads_Requested", "reads_mixed", "evictions "} {
		_, err := counters.Parse(bad)
		if !errors.Is(err, counters.ErrUnknown) || !strings.HasPrefix(err.Error(), "regioncache: ") || !strings.Contains(err.Error(), "keys_loaded") {
			t.Errorf("Parse(%q): %v, want ErrUnknown listing the names", bad, err)
		}
	}
}

// TestUnknownNameIsAnError: a Name made by conversion outside the constants
// is an error, and counts nothing.
func TestUnknownNameIsAnError(t *testing.T) {
	var s counters.Set
	if err := s.Add(counters.Evictions, 2); err != nil {
		t.Fatal(err)
	}
	bogus := counters.Name(len(counters.All))
	if err := s.Add(bogus, 1); !errors.Is(err, counters.ErrUnknown) {
		t.Fatalf("Add(%s): %v, want ErrUnknown", bogus, err)
	}
	snap := s.Snapshot()
	for _, n := range counters.All {
		want := int64(0)
		if n == counters.Evictions {
			want = 2
		}
		if snap[n] != want || s.Get(n) != want {
			t.Errorf("%s = %d (Get %d), want %d", n, snap[n], s.Get(n), want)
		}
	}
	if s.Get(bogus) != 0 || bogus.Valid() {
		t.Fatalf("%s is valid or counted", bogus)
	}
}
