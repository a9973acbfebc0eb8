package failpoint_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regioncache/regioncache/internal/failpoint"
)

const fp = failpoint.LoadBeforeCopy

// testCtx is a generous deadline that only guards against a hang.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

type evalResult struct {
	err      error
	panicked any
}

// evalAsync runs Eval in a goroutine and returns a channel with its result.
func evalAsync(ctx context.Context, s *failpoint.Set, name failpoint.Name) <-chan evalResult {
	ch := make(chan evalResult, 1)
	go func() {
		var r evalResult
		defer func() {
			r.panicked = recover()
			ch <- r
		}()
		r.err = s.Eval(ctx, name)
	}()
	return ch
}

func await(t *testing.T, ctx context.Context, ch <-chan evalResult) evalResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		t.Fatal("Eval did not return")
		return evalResult{}
	}
}

func mustArm(t *testing.T, s *failpoint.Set, name failpoint.Name, action string) {
	t.Helper()
	a, err := failpoint.ParseAction(action)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Arm(name, a); err != nil {
		t.Fatal(err)
	}
}

func TestOffReturnsAtOnce(t *testing.T) {
	s := failpoint.NewSet()
	for _, n := range failpoint.Names {
		if err := s.Eval(context.Background(), n); err != nil {
			t.Errorf("%s: Eval on a fresh set = %v", n, err)
		}
		if w := s.Waiting(n); w != 0 {
			t.Errorf("%s: Waiting = %d", n, w)
		}
	}
	mustArm(t, s, fp, "error")
	mustArm(t, s, fp, "off")
	if err := s.Eval(context.Background(), fp); err != nil {
		t.Errorf("Eval after off = %v", err)
	}
}

func TestUnknownName(t *testing.T) {
	s := failpoint.NewSet()
	if err := s.Arm("no/such-point", failpoint.Action{Kind: failpoint.Error}); !errors.Is(err, failpoint.ErrUnknown) {
		t.Errorf("Arm unknown = %v, want ErrUnknown", err)
	}
	if err := s.Eval(context.Background(), "no/such-point"); err != nil {
		t.Errorf("Eval unknown = %v", err)
	}
	if w := s.Waiting("no/such-point"); w != 0 {
		t.Errorf("Waiting unknown = %d", w)
	}
}

func TestError(t *testing.T) {
	s := failpoint.NewSet()
	mustArm(t, s, fp, "error")
	for i := 0; i < 3; i++ { // stays armed
		err := s.Eval(context.Background(), fp)
		if !errors.Is(err, failpoint.ErrInjected) || !strings.Contains(err.Error(), string(fp)) {
			t.Fatalf("Eval #%d = %v, want ErrInjected naming %s", i, err, fp)
		}
	}
	// Other points are unaffected.
	if err := s.Eval(context.Background(), failpoint.LoadAfterCopy); err != nil {
		t.Errorf("other point: %v", err)
	}
}

func TestPanic(t *testing.T) {
	s := failpoint.NewSet()
	mustArm(t, s, failpoint.EvictBeforeDelete, "panic")
	r := await(t, testCtx(t), evalAsync(context.Background(), s, failpoint.EvictBeforeDelete))
	p, ok := r.panicked.(failpoint.InjectedPanic)
	if !ok || p.Name != failpoint.EvictBeforeDelete {
		t.Fatalf("recovered %#v, want InjectedPanic{%s}", r.panicked, failpoint.EvictBeforeDelete)
	}
	if !strings.Contains(p.String(), string(failpoint.EvictBeforeDelete)) {
		t.Errorf("String() = %q", p.String())
	}
}

func TestPauseResume(t *testing.T) {
	ctx := testCtx(t)
	s := failpoint.NewSet()
	mustArm(t, s, fp, "pause")
	done := evalAsync(context.Background(), s, fp)
	if err := s.WaitPaused(ctx, fp, 1); err != nil {
		t.Fatal(err)
	}
	if w := s.Waiting(fp); w != 1 {
		t.Fatalf("Waiting = %d, want 1", w)
	}
	select {
	case r := <-done:
		t.Fatalf("paused Eval returned %+v before resume", r)
	default:
	}
	mustArm(t, s, fp, "resume")
	if r := await(t, ctx, done); r.err != nil || r.panicked != nil {
		t.Fatalf("resumed Eval = %+v", r)
	}
	if w := s.Waiting(fp); w != 0 {
		t.Errorf("Waiting after resume = %d", w)
	}
	// resume disarms: later steps pass straight through.
	if err := s.Eval(ctx, fp); err != nil {
		t.Errorf("Eval after resume = %v", err)
	}
}

func TestPauseManyAndOff(t *testing.T) {
	ctx := testCtx(t)
	s := failpoint.NewSet()
	mustArm(t, s, fp, "pause")
	const n = 5
	var chans []<-chan evalResult
	for i := 0; i < n; i++ {
		chans = append(chans, evalAsync(context.Background(), s, fp))
	}
	if err := s.WaitPaused(ctx, fp, n); err != nil {
		t.Fatal(err)
	}
	if w := s.Waiting(failpoint.LoadAfterCopy); w != 0 {
		t.Errorf("other point Waiting = %d", w)
	}
	mustArm(t, s, fp, "off")
	for i, ch := range chans {
		if r := await(t, ctx, ch); r.err != nil || r.panicked != nil {
			t.Errorf("step %d after off = %+v", i, r)
		}
	}
}

// A paused step re-evaluates the new action when the point is re-armed.
func TestPauseThenNewAction(t *testing.T) {
	for _, tc := range []struct {
		action    string
		wantErr   bool
		wantPanic bool
	}{
		{"error", true, false},
		{"panic", false, true},
		{"delay:1ns", false, false},
	} {
		t.Run(tc.action, func(t *testing.T) {
			ctx := testCtx(t)
			s := failpoint.NewSet()
			mustArm(t, s, fp, "pause")
			done := evalAsync(context.Background(), s, fp)
			if err := s.WaitPaused(ctx, fp, 1); err != nil {
				t.Fatal(err)
			}
			mustArm(t, s, fp, tc.action)
			r := await(t, ctx, done)
			if got := errors.Is(r.err, failpoint.ErrInjected); got != tc.wantErr {
				t.Errorf("err = %v, want injected=%v", r.err, tc.wantErr)
			}
			if (r.panicked != nil) != tc.wantPanic {
				t.Errorf("panicked = %v, want %v", r.panicked, tc.wantPanic)
			}
			if w := s.Waiting(fp); w != 0 {
				t.Errorf("Waiting = %d", w)
			}
		})
	}
}

// Re-arming pause keeps a paused step paused until resume.
func TestPauseRearmedStaysPaused(t *testing.T) {
	ctx := testCtx(t)
	s := failpoint.NewSet()
	mustArm(t, s, fp, "pause")
	done := evalAsync(context.Background(), s, fp)
	if err := s.WaitPaused(ctx, fp, 1); err != nil {
		t.Fatal(err)
	}
	mustArm(t, s, fp, "pause")
	// The step re-evaluates the new pause and waits again.
	if err := s.WaitPaused(ctx, fp, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		t.Fatalf("re-paused step returned %+v", r)
	default:
	}
	mustArm(t, s, fp, "resume")
	if r := await(t, ctx, done); r.err != nil {
		t.Fatalf("Eval = %v", r.err)
	}
}

func TestPauseContextCanceled(t *testing.T) {
	ctx := testCtx(t)
	s := failpoint.NewSet()
	mustArm(t, s, fp, "pause")
	stepCtx, cancel := context.WithCancel(context.Background())
	done := evalAsync(stepCtx, s, fp)
	if err := s.WaitPaused(ctx, fp, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if r := await(t, ctx, done); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Eval = %v, want context.Canceled", r.err)
	}
	if w := s.Waiting(fp); w != 0 {
		t.Errorf("Waiting = %d after the step left", w)
	}
	// Still armed: the next step pauses too.
	next := evalAsync(context.Background(), s, fp)
	if err := s.WaitPaused(ctx, fp, 1); err != nil {
		t.Fatal(err)
	}
	s.DisarmAll()
	if r := await(t, ctx, next); r.err != nil {
		t.Fatalf("Eval after DisarmAll = %v", r.err)
	}
}

func TestDisarmAllReleasesEveryPoint(t *testing.T) {
	ctx := testCtx(t)
	s := failpoint.NewSet()
	var chans []<-chan evalResult
	for _, n := range failpoint.Names {
		mustArm(t, s, n, "pause")
		chans = append(chans, evalAsync(context.Background(), s, n))
	}
	for _, n := range failpoint.Names {
		if err := s.WaitPaused(ctx, n, 1); err != nil {
			t.Fatal(err)
		}
	}
	s.DisarmAll()
	for i, ch := range chans {
		if r := await(t, ctx, ch); r.err != nil || r.panicked != nil {
			t.Errorf("%s: %+v", failpoint.Names[i], r)
		}
	}
}

func TestWaitPaused(t *testing.T) {
	t.Run("zero returns at once", func(t *testing.T) {
		s := failpoint.NewSet()
		if err := s.WaitPaused(testCtx(t), fp, 0); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("canceled context", func(t *testing.T) {
		s := failpoint.NewSet()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.WaitPaused(ctx, fp, 1); !errors.Is(err, context.Canceled) {
			t.Fatalf("WaitPaused = %v, want context.Canceled", err)
		}
	})
	t.Run("cancel wakes a blocked waiter", func(t *testing.T) {
		s := failpoint.NewSet()
		ctx, cancel := context.WithCancel(context.Background())
		res := make(chan error, 1)
		go func() { res <- s.WaitPaused(ctx, fp, 1) }()
		cancel()
		select {
		case err := <-res:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("WaitPaused = %v", err)
			}
		case <-testCtx(t).Done():
			t.Fatal("WaitPaused did not return after cancel")
		}
	})
	t.Run("waits for the n-th step", func(t *testing.T) {
		ctx := testCtx(t)
		s := failpoint.NewSet()
		mustArm(t, s, fp, "pause")
		waited := make(chan error, 1)
		go func() { waited <- s.WaitPaused(ctx, fp, 2) }()
		first := evalAsync(context.Background(), s, fp)
		if err := s.WaitPaused(ctx, fp, 1); err != nil {
			t.Fatal(err)
		}
		second := evalAsync(context.Background(), s, fp)
		if err := <-waited; err != nil {
			t.Fatal(err)
		}
		if w := s.Waiting(fp); w != 2 {
			t.Fatalf("Waiting = %d, want 2", w)
		}
		mustArm(t, s, fp, "resume")
		await(t, ctx, first)
		await(t, ctx, second)
	})
}

func TestDelay(t *testing.T) {
	ctx := testCtx(t)
	t.Run("elapses", func(t *testing.T) {
		s := failpoint.NewSet()
		mustArm(t, s, fp, "delay:1ns")
		if r := await(t, ctx, evalAsync(context.Background(), s, fp)); r.err != nil {
			t.Fatalf("Eval = %v", r.err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		s := failpoint.NewSet()
		mustArm(t, s, fp, "delay:1h")
		stepCtx, cancel := context.WithCancel(context.Background())
		done := evalAsync(stepCtx, s, fp)
		cancel()
		if r := await(t, ctx, done); !errors.Is(r.err, context.Canceled) {
			t.Fatalf("Eval = %v, want context.Canceled", r.err)
		}
	})
	t.Run("not counted as paused", func(t *testing.T) {
		// A delay is not a pause: it must never count as a paused step,
		// or WaitPaused would return for a step that is only slow.
		s := failpoint.NewSet()
		mustArm(t, s, fp, "delay:1h")
		stepCtx, cancel := context.WithCancel(context.Background())
		done := evalAsync(stepCtx, s, fp)
		if w := s.Waiting(fp); w != 0 {
			t.Errorf("a delayed step counts as paused: Waiting = %d", w)
		}
		cancel()
		await(t, ctx, done)
	})
}

func TestParseAction(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want failpoint.Action
		ok   bool
	}{
		{"off", failpoint.Action{Kind: failpoint.Off}, true},
		{"pause", failpoint.Action{Kind: failpoint.Pause}, true},
		{"resume", failpoint.Action{Kind: failpoint.Resume}, true},
		{"error", failpoint.Action{Kind: failpoint.Error}, true},
		{"panic", failpoint.Action{Kind: failpoint.Panic}, true},
		{"delay:10ms", failpoint.Action{Kind: failpoint.Delay, Delay: 10 * time.Millisecond}, true},
		{"delay:1h30m", failpoint.Action{Kind: failpoint.Delay, Delay: 90 * time.Minute}, true},
		{"delay:0s", failpoint.Action{}, false},
		{"delay:-1s", failpoint.Action{}, false},
		{"delay:", failpoint.Action{}, false},
		{"delay:soon", failpoint.Action{}, false},
		{"delay", failpoint.Action{}, false},
		{"Pause", failpoint.Action{}, false},
		{"", failpoint.Action{}, false},
		{"return(1)", failpoint.Action{}, false},
	} {
		got, err := failpoint.ParseAction(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseAction(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		if got != tc.want {
			t.Errorf("ParseAction(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		back, err := failpoint.ParseAction(got.String())
		if err != nil || back != got {
			t.Errorf("String() of %q = %q does not parse back: %+v, %v", tc.in, got.String(), back, err)
		}
	}
}

// TestConcurrentArmAndEval is for the race detector: arming and evaluating
// from many goroutines at once must be safe and never lose a paused step.
func TestConcurrentArmAndEval(t *testing.T) {
	ctx := testCtx(t)
	s := failpoint.NewSet()
	actions := []string{"pause", "resume", "error", "off", "delay:1ns"}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := s.Eval(ctx, fp)
				if err != nil && !errors.Is(err, failpoint.ErrInjected) {
					t.Errorf("Eval = %v", err)
					return
				}
			}
		}()
	}
	for i := 0; i < 2000; i++ {
		mustArm(t, s, fp, actions[i%len(actions)])
		_ = s.Waiting(fp)
	}
	close(stop)
	mustArm(t, s, fp, "off")
	wg.Wait()
	if w := s.Waiting(fp); w != 0 {
		t.Errorf("Waiting = %d after every step left", w)
	}
}

// An unknown name is refused at once by every call that takes one, so a
// wait on it cannot hang until its deadline.
func TestUnknownNamesAnswerAtOnce(t *testing.T) {
	s := failpoint.NewSet()
	if _, err := failpoint.ParseName("no/such-point"); !errors.Is(err, failpoint.ErrUnknown) {
		t.Fatalf("ParseName = %v, want ErrUnknown", err)
	}
	for _, n := range failpoint.Names {
		if got, err := failpoint.ParseName(string(n)); err != nil || got != n {
			t.Fatalf("ParseName(%s) = %s, %v", n, got, err)
		}
	}
	// The context never ends: only an answer at once can pass.
	if err := s.WaitPaused(context.Background(), "no/such-point", 1); !errors.Is(err, failpoint.ErrUnknown) {
		t.Fatalf("WaitPaused(unknown) = %v, want ErrUnknown", err)
	}
}
