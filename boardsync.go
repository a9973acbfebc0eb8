package regioncache

import (
	"context"

	"github.com/regioncache/regioncache/messages"
)

// syncBoard returns once the supervisor has handled every message queued
// for it before this call, so the Board shows every step a region actor
// reported before the caller looked. Region actors report a step before they
// start the work it causes (a loader's copy, a releaser), so after work was
// seen paused at a failpoint, syncBoard makes the Board show the transitions
// that led to it: what the engine says is what it does.
func (e *Engine) syncBoard(ctx context.Context) error {
	req := &messages.Sync{Reply: messages.NewReply[struct{}]()}
	e.system.Root.Send(e.sup.PID, req)
	select {
	case <-req.Reply:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-e.ctx.Done():
		return ErrClosed
	}
}
