package regioncache

import (
	"context"
	"errors"
	"fmt"

	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/private"
)

// The test hooks live here, reachable only through internal/private.
func init() {
	private.Hooks = func(e any) private.EngineHooks { return engineHooks{e.(*Engine)} }
}

type engineHooks struct{ e *Engine }

func (h engineHooks) Failpoint(name failpoint.Name, action string) error {
	if h.e.isClosed() {
		return ErrClosed
	}
	a, err := failpoint.ParseAction(action)
	if err != nil {
		return err
	}
	return h.e.fps.Arm(name, a)
}

func (h engineHooks) WaitFailpointPaused(ctx context.Context, name failpoint.Name, n int) error {
	e := h.e
	if e.isClosed() {
		return ErrClosed
	}
	both, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(e.ctx, cancel)
	defer stop()
	if err := e.fps.WaitPaused(both, name, n); err != nil {
		if ctx.Err() == nil && e.ctx.Err() != nil {
			return ErrClosed
		}
		return err
	}
	// The paused work started after its region's step was reported: once
	// the supervisor has handled what was queued, the Board shows it.
	return e.syncBoard(ctx)
}

func (h engineHooks) WaitRegionState(ctx context.Context, id uint64, state lifecycle.State) error {
	e := h.e
	switch {
	case e.isClosed():
		return ErrClosed
	case id == 0:
		return fmt.Errorf("%w: id 0 (ids are positive): no region can ever be in it", ErrInvalidRegion)
	case int(state) >= len(lifecycle.States):
		return fmt.Errorf("regioncache: no region state %d", uint8(state))
	}
	if err := e.sup.Board.WaitState(ctx, id, state); err != nil {
		return e.waitErr(ctx, err)
	}
	return nil
}

func (h engineHooks) WaitMemory(ctx context.Context, cond func(bytes int64) bool) error {
	e := h.e
	switch {
	case e.isClosed():
		return ErrClosed
	case cond == nil:
		return errors.New("regioncache: WaitMemory needs a condition, got nil")
	}
	if err := e.sup.Board.WaitUntil(ctx, func() bool { return cond(e.plane.MemoryUsed()) }); err != nil {
		return e.waitErr(ctx, err)
	}
	return nil
}

func (h engineHooks) WatchIdle(f func(idle bool)) (func(), error) {
	switch {
	case h.e.isClosed():
		return nil, ErrClosed
	case f == nil:
		return nil, errors.New("regioncache: WatchIdle needs a function, got nil")
	}
	return h.e.sup.Board.Watch(f), nil
}

func (h engineHooks) MemoryPeak() (peak, overdrawn int64) {
	a := h.e.plane.Account()
	return a.Peak(), a.Overdrawn()
}

// isClosed reports whether Close has begun.
func (e *Engine) isClosed() bool { return e.ctx.Err() != nil }
