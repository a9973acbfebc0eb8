package regioncache_test

// Waits on things that cannot happen answer an error at once instead of at
// their deadline. Each wait here gets a context that never ends, so only an
// answer at once lets the test finish.

import (
	"context"
	"errors"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/testutil"
)

func TestImpossibleWaitsAnswerAtOnce(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{})
	hooks := testutil.Hooks(e)
	ctx := context.Background()
	if err := hooks.WaitFailpointPaused(ctx, "load/no-such-point", 1); !errors.Is(err, failpoint.ErrUnknown) {
		t.Errorf("WaitFailpointPaused(unknown name) = %v, want ErrUnknown", err)
	}
	if err := hooks.Failpoint("load/no-such-point", "pause"); !errors.Is(err, failpoint.ErrUnknown) {
		t.Errorf("Failpoint(unknown name) = %v, want ErrUnknown", err)
	}
	if err := hooks.WaitRegionState(ctx, 0, regioncache.Active); !errors.Is(err, regioncache.ErrInvalidRegion) {
		t.Errorf("WaitRegionState(id 0) = %v, want ErrInvalidRegion", err)
	}
	if err := hooks.WaitRegionState(ctx, 1, regioncache.State(200)); err == nil {
		t.Error("WaitRegionState(no such state) = nil")
	}
	if err := hooks.WaitMemory(ctx, nil); err == nil {
		t.Error("WaitMemory(nil) = nil")
	}
}
