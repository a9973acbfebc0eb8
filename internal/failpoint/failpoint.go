// Package failpoint provides named points where tests and event-log replays
// stop or break the engine's background work: pause, resume, error, panic,
// delay and off. A point that is off costs one atomic load.
package failpoint

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Name names a failpoint; the engine has exactly the ones in Names.
type Name string

// The engine's failpoints, as the event-log spec names them.
const (
	LoadBeforeCopy    Name = "load/before-copy"
	LoadAfterCopy     Name = "load/after-copy"
	EvictBeforeDelete Name = "evict/before-delete"
)

// Names lists every failpoint of the event-log spec, in spec order: the
// ones a log can name.
var Names = []Name{LoadBeforeCopy, LoadAfterCopy, EvictBeforeDelete}

// ActivateRebaseRead is at activation, before the disk read of each key
// written during the load at or below the safe point, which must be rebased
// onto its disk version. It is not in the event-log spec (a log cannot name
// it; Go tests arm it through the engine's hooks) and only error is useful
// there: the read runs under the data plane's commit lock, so pause or delay
// there holds every write until resume.
const ActivateRebaseRead Name = "activate/rebase-read"

// all is every failpoint a Set has: the spec's and the engine's own.
var all = append(append([]Name(nil), Names...), ActivateRebaseRead)

// ParseName returns the failpoint called s, or an error matching ErrUnknown.
func ParseName(s string) (Name, error) {
	for _, n := range Names {
		if string(n) == s {
			return n, nil
		}
	}
	return "", fmt.Errorf("%w %q (the engine has %s, %s and %s)", ErrUnknown, s, LoadBeforeCopy, LoadAfterCopy, EvictBeforeDelete)
}

// Kind is what an armed failpoint does.
type Kind uint8

const (
	Off Kind = iota
	Pause
	Resume
	Error
	Panic
	Delay
)

// Action is a kind and, for Delay, how long.
type Action struct {
	Kind  Kind
	Delay time.Duration
}

// ParseAction reads the spec's action syntax: pause, resume, error, panic,
// off, delay:DURATION.
func ParseAction(s string) (Action, error) {
	switch s {
	case "off":
		return Action{Kind: Off}, nil
	case "pause":
		return Action{Kind: Pause}, nil
	case "resume":
		return Action{Kind: Resume}, nil
	case "error":
		return Action{Kind: Error}, nil
	case "panic":
		return Action{Kind: Panic}, nil
	}
	if d, ok := strings.CutPrefix(s, "delay:"); ok {
		dur, err := time.ParseDuration(d)
		if err != nil || dur <= 0 {
			return Action{}, fmt.Errorf("regioncache: bad failpoint delay %q: want a positive Go duration", d)
		}
		return Action{Kind: Delay, Delay: dur}, nil
	}
	return Action{}, fmt.Errorf("regioncache: unknown failpoint action %q (want pause, resume, error, panic, off or delay:DURATION)", s)
}

func (a Action) String() string {
	switch a.Kind {
	case Pause:
		return "pause"
	case Resume:
		return "resume"
	case Error:
		return "error"
	case Panic:
		return "panic"
	case Delay:
		return "delay:" + a.Delay.String()
	default:
		return "off"
	}
}

// ErrInjected is what a step returns at a failpoint armed with error.
var ErrInjected = errors.New("regioncache: failpoint: injected error")

// ErrUnknown reports a failpoint name the engine does not have.
var ErrUnknown = errors.New("regioncache: unknown failpoint")

// InjectedPanic is the value a failpoint armed with panic panics with.
type InjectedPanic struct{ Name Name }

func (p InjectedPanic) String() string { return "failpoint " + string(p.Name) + ": injected panic" }

type armed struct {
	action Action
	resume chan struct{} // closed by resume, off or a new action
}

type point struct {
	cur     atomic.Pointer[armed]
	waiting atomic.Int64
}

// Set is the failpoints of one engine.
type Set struct {
	mu     sync.Mutex
	points map[Name]*point
	// waitersChanged is signalled whenever work starts or stops waiting at a
	// pause, so tests can wait for "the loader is paused" without sleeping.
	cond *sync.Cond
}

// NewSet returns the engine's failpoints, all off.
func NewSet() *Set {
	s := &Set{points: make(map[Name]*point, len(all))}
	s.cond = sync.NewCond(&s.mu)
	for _, n := range all {
		s.points[n] = &point{}
	}
	return s
}

// Arm sets the action of a failpoint. Any action releases the work paused
// there, which goes on as if the point were off; the new action applies to
// the steps that reach the point afterwards. resume and off leave it off.
func (s *Set) Arm(name Name, a Action) error {
	p, ok := s.points[name]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknown, name)
	}
	var next *armed
	if a.Kind != Off && a.Kind != Resume {
		next = &armed{action: a, resume: make(chan struct{})}
	}
	if prev := p.cur.Swap(next); prev != nil {
		close(prev.resume)
	}
	return nil
}

// DisarmAll turns every failpoint off, releasing paused work.
func (s *Set) DisarmAll() {
	for _, n := range all {
		_ = s.Arm(n, Action{Kind: Off})
	}
}

// Waiting is how many steps are paused at the failpoint now.
func (s *Set) Waiting(name Name) int {
	if p, ok := s.points[name]; ok {
		return int(p.waiting.Load())
	}
	return 0
}

// WaitPaused blocks until at least n steps are paused at name, or ctx ends.
// A name the engine does not have is an error at once: nothing could ever
// pause there.
func (s *Set) WaitPaused(ctx context.Context, name Name, n int) error {
	if _, ok := s.points[name]; !ok {
		return fmt.Errorf("%w %q", ErrUnknown, name)
	}
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.Waiting(name) < n {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.cond.Wait()
	}
	return nil
}

func (s *Set) waitersChanged() {
	s.mu.Lock()
	s.cond.Broadcast()
	s.mu.Unlock()
}

// Eval runs the failpoint at name for a step: it returns at once when off,
// waits while paused (until resume, off or ctx ends), sleeps for a delay,
// returns ErrInjected for error and panics with InjectedPanic for panic.
func (s *Set) Eval(ctx context.Context, name Name) error {
	p := s.points[name]
	if p == nil {
		return nil
	}
	a := p.cur.Load()
	if a == nil {
		return nil
	}
	switch a.action.Kind {
	case Pause:
		p.waiting.Add(1)
		s.waitersChanged()
		defer func() { p.waiting.Add(-1); s.waitersChanged() }()
		select {
		case <-a.resume:
			// Re-evaluate: a new action (for example error) may replace pause.
			return s.Eval(ctx, name)
		case <-ctx.Done():
			return ctx.Err()
		}
	case Delay:
		t := time.NewTimer(a.action.Delay)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	case Error:
		return fmt.Errorf("%s: %w", name, ErrInjected)
	case Panic:
		panic(InjectedPanic{Name: name})
	}
	return nil
}
