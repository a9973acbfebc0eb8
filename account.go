package regioncache

import (
	"fmt"
	"strings"
)

// CheckMemory recomputes the memory account from the cached data and
// returns an error (matching ErrMemoryAccount) listing every disagreement,
// or nil. Call it on an idle engine (after WaitIdle, with nothing running):
// then MemoryBytes must be exactly the sum of what each held region can read
// (data shared by split children or held by snapshots charged once), plus
// what a region let go while a snapshot still held it. It scans every
// region and holds writes off while it does: for tests and debugging.
func (e *Engine) CheckMemory() error {
	exit, err := e.enter()
	if err != nil {
		return err
	}
	defer exit()
	if problems := e.plane.AuditAccount(); len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrMemoryAccount, strings.Join(problems, "; "))
	}
	return nil
}
