package evictreason_test

import (
	"testing"

	"github.com/regioncache/regioncache/internal/evictreason"
	"github.com/regioncache/regioncache/internal/testutil/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

func TestParse(t *testing.T) {
	for _, r := range evictreason.Spec {
		if got, err := evictreason.Parse(string(r)); err != nil || got != r {
			t.Errorf("Parse(%s) = %q, %v", r, got, err)
		}
	}
	for _, bad := range []string{"", "cold", "Manual", string(evictreason.MissedChange), string(evictreason.ReadError)} {
		if _, err := evictreason.Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if len(evictreason.All) != len(evictreason.Spec)+2 {
		t.Errorf("All = %v", evictreason.All)
	}
}
