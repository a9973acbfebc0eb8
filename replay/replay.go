// Package replay runs an event log (docs/event-log.md, parsed and
// checked by package eventlog) against a real engine and reports what
// happened: every region state change, every load that was deduplicated or
// rejected, every expectation that failed, the final region states and the
// counters. It is the engine behind `demo replay`, and scenario tests use it
// directly.
//
// The replay drives the engine only through its public API (plus the
// failpoint controls), so whatever a log proves holds for embedders too.
// Ops run strictly in file order, one at a time. An engine error or a panic
// during an op is a failure reported against the op's line, never a crash:
// the replay goes on with the next op.
package replay

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/eventlog"
)

// Options configure a replay. The zero value runs as fast as it can on an
// engine whose disk engine is in memory.
type Options struct {
	// Realtime waits out the gaps between consecutive "at" values.
	Realtime bool
	// Speed divides those gaps: 2 replays twice as fast as recorded. A
	// positive Speed implies Realtime; 0 means 1.
	Speed float64
	// DataDir keeps the disk engine (Pebble) in this directory; empty keeps
	// it in memory.
	DataDir string
	// Observer is told what happens, as it happens.
	Observer Observer
	// Logger receives the engine's logs; nil: none.
	Logger *zerolog.Logger
	// Registerer, if set, gets the engine's metrics.
	Registerer prometheus.Registerer
	// OnOpen, if set, is called with the engine once it is open, before
	// the first op (demo serve mounts its debug endpoint there).
	OnOpen func(*regioncache.Engine)
	// NoOpRecords leaves Result.Ops empty: a long log's record of every op
	// is as big as the log, and only a timeline needs it.
	NoOpRecords bool
	// BeforeClose, if set, is called after the last op with the engine
	// still open; Run closes the engine once it returns (demo serve keeps
	// the finished engine on show until it is interrupted).
	BeforeClose func()
}

// Observer receives the replay's progress. Every callback is optional and
// is called from the goroutine running Run, in the order things happened,
// so an observer needs no locking. Callbacks must not block for long.
type Observer struct {
	// OpStart is called just before op i of the log runs.
	OpStart func(i int, op eventlog.Op)
	// OpDone is called once op i has run.
	OpDone func(i int, op eventlog.Op, rec OpRecord)
	// Transition is called for every region state change.
	Transition func(Transition)
	// Mark is called for every notable load outcome.
	Mark func(Mark)
	// Failure is called for every failed expectation or op.
	Failure func(Failure)
}

// Event says when something happened: during which op, at what "at" time
// (the op's, when it has one) and how long after the replay started.
type Event struct {
	// Op is the index in Log.Ops of the op that was running, or that ran
	// last, when it happened.
	Op int
	// Line is that op's line in the file.
	Line int
	// At is that op's "at" time; zero when the op has none.
	At time.Time
	// Elapsed is the time since the replay started.
	Elapsed time.Duration
}

// HasAt reports whether the event carries an "at" time from the log.
func (e Event) HasAt() bool { return !e.At.IsZero() }

// Transition is one region state change.
type Transition struct {
	Event
	Region   regioncache.Region
	From, To regioncache.State
	Cause    string
}

// MarkKind says what a mark records.
type MarkKind uint8

const (
	// MarkLoadAccepted: a load request made the region pending.
	MarkLoadAccepted MarkKind = iota + 1
	// MarkLoadDeduplicated: a load request found the region already
	// pending, loading or active and changed nothing.
	MarkLoadDeduplicated
	// MarkLoadRejected: a load request was refused (overlap, eviction in
	// progress, ...). This is the engine working, not a failure.
	MarkLoadRejected
)

func (k MarkKind) String() string {
	switch k {
	case MarkLoadAccepted:
		return "load requested"
	case MarkLoadDeduplicated:
		return "load deduplicated"
	case MarkLoadRejected:
		return "load rejected"
	}
	return fmt.Sprintf("mark(%d)", uint8(k))
}

// Mark is a notable load outcome.
type Mark struct {
	Event
	Kind   MarkKind
	Region regioncache.Region
	// Detail says more: why a load was rejected, what it was deduplicated against.
	Detail string
}

// Failure is a failed expectation, or an op the engine could not do.
type Failure struct {
	Event
	// OpText is the op's line as written.
	OpText string
	// Region is the id of the region the failure is about; 0 when none is.
	Region uint64
	// Message says what went wrong, starting with a summary of the op.
	Message string
}

// OpRecord is what one op did.
type OpRecord struct {
	Index int
	Line  int
	Kind  eventlog.Kind
	// Summary is the op in words (eventlog.Op.String).
	Summary string
	// Outcome is what happened, in words: "accepted", `"banana" from memory`.
	Outcome string
	At      time.Time // zero when the op has none
	// Start and End are measured from the start of the replay.
	Start, End time.Duration
	// Asserts reports whether the op is an expectation.
	Asserts bool
	Failed  bool
}

// Result is the outcome of a replay.
type Result struct {
	// Name is the log's name (its file).
	Name string
	// Events is the number of ops that ran.
	Events int
	// Expectations is the number of ops that assert something: a get, scan
	// or snapshot with "expect" or "source", an expect, a check, a wait.
	// An op that asserts nothing but fails (an engine error) counts too, so
	// Failed never exceeds Expectations.
	Expectations int
	// Failed is len(Failures).
	Failed   int
	Failures []Failure
	// Regions is the final state of every region id the log names or the
	// engine held, by id.
	Regions map[uint64]string
	// Counters holds every spec counter the engine provides, by name.
	Counters map[string]int64
	// Ops, Transitions and Marks are the run's record, in order: what a
	// timeline draws.
	Ops         []OpRecord
	Transitions []Transition
	Marks       []Mark
	// Duration is how long the replay took.
	Duration time.Duration
}

// OK reports whether every expectation held.
func (r *Result) OK() bool { return r.Failed == 0 }

// RegionIDs returns the ids of Regions in increasing order.
func (r *Result) RegionIDs() []uint64 {
	ids := make([]uint64, 0, len(r.Regions))
	for id := range r.Regions {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// The range of Options.Speed: slower than a thousandth of the recorded pace
// turns a 10 ms gap into 10 s, faster than a thousand times makes every gap
// vanish (leave Speed and Realtime unset for that).
const (
	MinSpeed = 0.001
	MaxSpeed = 1000.0
)

// CheckSpeed reports whether speed is a usable Options.Speed.
func CheckSpeed(speed float64) error {
	if math.IsNaN(speed) || speed < MinSpeed || speed > MaxSpeed {
		return fmt.Errorf("regioncache: replay: speed must be a number from %g to %g (times the recorded pace), got %g", MinSpeed, MaxSpeed, speed)
	}
	return nil
}

// Run replays log against a new engine configured by the log's config and
// opts, and closes the engine before it returns. The returned error is for a
// replay that could not run or was stopped (ctx done): failed expectations
// are in the Result, not the error. On ctx done the partial Result is
// returned with ctx's error.
func Run(ctx context.Context, log *eventlog.Log, opts Options) (*Result, error) {
	return RunSource(ctx, log.Name, log.Config, &sliceSource{ops: log.Ops}, opts)
}

// Source gives a replay its ops in file order; Next returns io.EOF after
// the last. An eventlog.Reader is one: a replay from it holds no more of the
// log than the op that runs.
type Source interface {
	Next() (eventlog.Op, error)
}

type sliceSource struct {
	ops []eventlog.Op
	i   int
}

func (s *sliceSource) Next() (eventlog.Op, error) {
	if s.i >= len(s.ops) {
		return eventlog.Op{}, io.EOF
	}
	s.i++
	return s.ops[s.i-1], nil
}

// RunSource is Run on a log read as it runs: name and cfg are the log's
// (from a first, checking pass: eventlog.Reader.Log), src gives its ops.
// An error from src stops the replay and is returned with the partial
// Result, like ctx's.
func RunSource(ctx context.Context, name string, cfg eventlog.Config, src Source, opts Options) (*Result, error) {
	if opts.Speed != 0 {
		if err := CheckSpeed(opts.Speed); err != nil {
			return nil, err
		}
	}
	r := &runner{
		src:    src,
		opts:   opts,
		res:    &Result{Name: name, Failures: []Failure{}},
		rec:    &recorder{notify: make(chan struct{}, 1)},
		snaps:  map[string]*regioncache.Snapshot{},
		failed: map[string]int{},
		ids:    map[uint64]bool{},
	}
	eo, err := engineOptions(cfg, opts)
	if err != nil {
		return nil, err
	}
	eo.OnTransition = r.rec.add
	eng, err := regioncache.Open(eo)
	if err != nil {
		return nil, fmt.Errorf("regioncache: replay: opening the engine: %w", err)
	}
	r.eng = eng
	if opts.OnOpen != nil {
		opts.OnOpen(eng)
	}
	r.start = time.Now()
	runErr := r.run(ctx)
	if opts.BeforeClose != nil {
		opts.BeforeClose()
	}
	r.finish()
	return r.res, runErr
}

// runner is one replay in progress. Everything in it belongs to the
// goroutine running Run, except rec, which the engine feeds.
type runner struct {
	src  Source
	opts Options
	eng  *regioncache.Engine
	res  *Result
	rec  *recorder

	start time.Time
	// pacing: the previous op with an "at" and when it started.
	prevAt, prevAtWall time.Time

	cur    int                              // index of the op running or last run
	curOp  eventlog.Op                      // and that op
	ids    map[uint64]bool                  // region ids the ops named so far
	named  []regioncache.Region             // regions loaded, split or merged so far
	snaps  map[string]*regioncache.Snapshot // held snapshots by name
	failed map[string]int                   // snapshot names whose snapshot op failed, by line

	// inflight is closed when the goroutine of the last await returns; it
	// is still open after ctx ended in the middle of an op.
	inflight chan struct{}
}

func (r *runner) pacing() bool { return r.opts.Realtime || r.opts.Speed > 0 }

func (r *runner) run(ctx context.Context) error {
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		op, err := r.src.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if op.HasAt && r.pacing() {
			if err := r.pace(ctx, op.At); err != nil {
				return err
			}
		}
		r.cur, r.curOp = i, op
		for _, id := range regionIDs(op) {
			r.ids[id] = true
		}
		r.name(op)
		r.rec.setOp(i, op.Line, r.at(op))
		if f := r.opts.Observer.OpStart; f != nil {
			f(i, op)
		}
		rec := OpRecord{Index: i, Line: op.Line, Kind: op.Kind(), Summary: op.String(), At: r.at(op), Start: r.since()}
		var out outcome
		err = r.await(ctx, func() { out = r.exec(ctx, op) })
		rec.End = r.since()
		r.drain()
		if err != nil {
			return err // ctx done: the op may still be running; finish closes the engine under it
		}
		r.res.Events++
		rec.Outcome, rec.Asserts, rec.Failed = out.text, out.asserts || out.fail != "", out.fail != ""
		if rec.Asserts {
			r.res.Expectations++
		}
		for _, m := range out.marks {
			m.Event = r.event(i)
			r.res.Marks = append(r.res.Marks, m)
			if f := r.opts.Observer.Mark; f != nil {
				f(m)
			}
		}
		if out.fail != "" {
			fl := Failure{Event: r.event(i), OpText: op.Text, Region: out.region, Message: op.String() + ": " + out.fail}
			r.res.Failures = append(r.res.Failures, fl)
			r.res.Failed++
			if f := r.opts.Observer.Failure; f != nil {
				f(fl)
			}
		}
		if !r.opts.NoOpRecords {
			r.res.Ops = append(r.res.Ops, rec)
		}
		if f := r.opts.Observer.OpDone; f != nil {
			f(i, op, rec)
		}
	}
}

// pace waits until the gap between the previous "at" and at has passed
// since the previous op with an "at" started, scaled by Speed. Times that go
// backwards do not wait.
func (r *runner) pace(ctx context.Context, at time.Time) error {
	if !r.prevAtWall.IsZero() {
		gap := at.Sub(r.prevAt)
		if r.opts.Speed > 0 {
			gap = time.Duration(float64(gap) / r.opts.Speed)
		}
		if wait := time.Until(r.prevAtWall.Add(gap)); wait > 0 {
			if err := r.await(ctx, func() { sleep(ctx, wait) }); err != nil {
				return err
			}
		}
	}
	r.prevAt, r.prevAtWall = at, time.Now()
	return nil
}

// await runs fn on its own goroutine and, until it returns, hands region
// transitions to the observer as they happen, so that a long wait or sleep
// shows its progress live. It returns ctx's error if ctx ends first.
func (r *runner) await(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	r.inflight = done
	go func() {
		defer close(done)
		fn()
	}()
	for {
		select {
		case <-done:
			return nil
		case <-r.rec.notify:
			r.drain()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (r *runner) since() time.Duration { return time.Since(r.start) }

func (r *runner) at(op eventlog.Op) time.Time {
	if op.HasAt {
		return op.At
	}
	return time.Time{}
}

// event describes "now, during op i", the op running or last run.
func (r *runner) event(i int) Event {
	return Event{Op: i, Line: r.curOp.Line, At: r.at(r.curOp), Elapsed: time.Since(r.start)}
}

// drain hands the transitions recorded so far to the result and the observer.
func (r *runner) drain() {
	for _, t := range r.rec.take() {
		tr := Transition{Event: Event{Op: t.op, Line: t.line, At: t.at, Elapsed: t.when.Sub(r.start)},
			Region: t.Region, From: t.From, To: t.To, Cause: t.Cause}
		r.res.Transitions = append(r.res.Transitions, tr)
		if f := r.opts.Observer.Transition; f != nil {
			f(tr)
		}
	}
}

// finish records the final states and counters, then releases every held
// snapshot and closes the engine.
func (r *runner) finish() {
	r.drain()
	r.rec.stop()
	ids := map[uint64]bool{}
	for id := range r.ids {
		ids[id] = true
	}
	for _, t := range r.res.Transitions {
		ids[t.Region.ID] = true
	}
	// The engine calls below can fail only once it is closed; they are
	// guarded so that a broken engine cannot take the report down with it.
	m, merr := r.eng.Metrics()
	for _, s := range m.Regions {
		ids[s.Region.ID] = true
	}
	r.res.Regions = make(map[uint64]string, len(ids))
	r.res.Counters = make(map[string]int64, len(eventlog.Counters))
	func() {
		defer func() { _ = recover() }()
		for id := range ids {
			r.res.Regions[id] = r.eng.RegionState(id).String()
		}
		for _, name := range eventlog.Counters {
			if v, err := m.Counter(name); err == nil && merr == nil {
				r.res.Counters[name] = v
			}
		}
	}()
	closeEngine := func() {
		defer func() { _ = recover() }()
		_ = r.eng.Close()
	}
	if r.inflight != nil {
		select {
		case <-r.inflight:
		default:
			// ctx ended during an op that still runs (a wait, a sleep or a
			// stuck call): closing the engine makes it return. Held
			// snapshots are left to Close, as the op may still touch them.
			closeEngine()
			select {
			case <-r.inflight:
			case <-time.After(abandonWait):
			}
			r.res.Duration = r.since()
			return
		}
	}
	for _, s := range r.snaps {
		func() {
			defer func() { _ = recover() }()
			s.Release()
		}()
	}
	closeEngine()
	r.res.Duration = r.since()
}

// abandonWait bounds how long a stopped replay waits for an op that was
// running when it stopped.
const abandonWait = 10 * time.Second

// regionIDs lists the region ids op names.
func regionIDs(op eventlog.Op) []uint64 {
	var ids []uint64
	add := func(id uint64) {
		if id != 0 {
			ids = append(ids, id)
		}
	}
	switch p := op.Payload.(type) {
	case *eventlog.Load:
		add(p.Region.ID)
	case *eventlog.Evict:
		add(p.Region.ID)
	case *eventlog.Snapshot:
		add(p.Region.ID)
	case *eventlog.Split:
		add(p.Region.ID)
		for _, r := range p.Into {
			add(r.ID)
		}
	case *eventlog.Merge:
		for _, r := range p.Regions {
			add(r.ID)
		}
		add(p.Into.ID)
	case *eventlog.Wait:
		if !p.Idle {
			add(p.Region)
		}
	case *eventlog.Expect:
		if p.Assert == eventlog.AssertState {
			add(p.Region)
		}
	}
	return ids
}

// recorder buffers the engine's transitions, which arrive on the engine's
// goroutine, until the replay's goroutine takes them. Each is stamped with
// the op that was running when it happened.
type recorder struct {
	mu      sync.Mutex
	op      int
	line    int
	at      time.Time
	stopped bool
	buf     []recorded
	notify  chan struct{}
}

type recorded struct {
	regioncache.Transition
	op   int
	line int
	at   time.Time
	when time.Time
}

// add is the engine's OnTransition: it must not block.
func (c *recorder) add(t regioncache.Transition) {
	c.mu.Lock()
	if !c.stopped {
		c.buf = append(c.buf, recorded{Transition: t, op: c.op, line: c.line, at: c.at, when: time.Now()})
	}
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *recorder) setOp(i, line int, at time.Time) {
	c.mu.Lock()
	c.op, c.line, c.at = i, line, at
	c.mu.Unlock()
}

func (c *recorder) take() []recorded {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.buf
	c.buf = nil
	return out
}

// stop ignores transitions from now on: those of the replay's own cleanup.
func (c *recorder) stop() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// recovered turns a panic during an op into its failure message, and logs
// where it happened.
func (r *runner) recovered(v any) string {
	if r.opts.Logger != nil {
		r.opts.Logger.Error().Str("panic", fmt.Sprint(v)).Str("stack", string(debug.Stack())).Msg("replay: op panicked")
	}
	return fmt.Sprintf("panic: %v", v)
}
