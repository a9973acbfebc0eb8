package regioncache_test

import (
	"errors"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

// TestRefusedLoadSaysRefused: a load that is refused (overlap, invalid
// region, closed engine) returns LoadRefused with its error, never the
// accepted outcome a caller reading only the outcome would take at its word.
func TestRefusedLoadSaysRefused(t *testing.T) {
	r := testutil.NewRig(t, 0)
	held := testutil.Reg(1, 1, "a", "m")
	r.MustLoad(held, regioncache.LoadAccepted)
	r.WaitState(held.ID, regioncache.Active)
	out, err := r.E.Load(testutil.Reg(10, 1, "b", "c"))
	if out != regioncache.LoadRefused || !errors.Is(err, regioncache.ErrLoadRejected) || out.String() != "refused" {
		t.Errorf("overlapping load: %s, %v; want refused and ErrLoadRejected", out, err)
	}
	if out, err := r.E.Load(regioncache.Region{ID: 11, Version: 1, Start: []byte("z"), End: []byte("y")}); out != regioncache.LoadRefused || err == nil {
		t.Errorf("invalid region: %s, %v; want refused with an error", out, err)
	}
	if out, err := r.E.Load(held); out != regioncache.LoadDeduplicated || err != nil {
		t.Errorf("repeated load: %s, %v; want deduplicated", out, err)
	}
}
