package regioncache

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// lineWriter collects log lines and tells waiters when a line containing
// a given text arrives, so tests wait for logs without sleeping.
type lineWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLineWriter() *lineWriter { return &lineWriter{changed: make(chan struct{}, 1)} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	select {
	case w.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func (w *lineWriter) waitFor(t *testing.T, texts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		all := true
		s := w.String()
		for _, x := range texts {
			all = all && strings.Contains(s, x)
		}
		if all {
			return
		}
		select {
		case <-w.changed:
		case <-ctx.Done():
			t.Fatalf("log never had %q; it has:\n%s", texts, s)
		}
	}
}

// Without a logger the engine's actor system logs nothing at any level,
// Pebble gets no logger (the disk engine keeps its quiet one) and the
// engine's own logger is disabled.
func TestNoLoggerIsSilent(t *testing.T) {
	e, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if e.system.Logger().Enabled(context.Background(), l) {
			t.Errorf("protoactor's logger is enabled at %s without a host logger", l)
		}
	}
	if pebbleLogger(nil) != nil {
		t.Error("Pebble gets a logger without a host logger")
	}
	if e.log.GetLevel() != zerolog.Disabled {
		t.Errorf("engine logger level %s, want disabled", e.log.GetLevel())
	}
}

// With a logger, protoactor's own output lands in it: the system's start,
// and a supervision event (an actor that panics is recovered). A dead
// letter would do too, but protoactor's dead-letter throttle leaves a
// goroutine running for a second, which the leak check would see.
func TestLoggerReceivesProtoactor(t *testing.T) {
	w := newLineWriter()
	log := zerolog.New(w).Level(zerolog.DebugLevel)
	e, err := Open(Options{Logger: &log})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	w.waitFor(t, `"lib":"protoactor"`, "actor system started")

	pid := e.system.Root.SpawnPrefix(actor.PropsFromFunc(func(c actor.Context) {
		if c.Message() == "fail" {
			panic("failing on purpose")
		}
	}), "failing-")
	defer e.system.Root.Stop(pid)
	e.system.Root.Send(pid, "fail")
	w.waitFor(t, "[ACTOR] Recovering", "failing on purpose", "[SUPERVISION]")

	// Levels: the host's logger decides. At warn, protoactor's info is off.
	quiet := zerolog.New(w).Level(zerolog.WarnLevel)
	q, err := Open(Options{Logger: &quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if q.system.Logger().Enabled(context.Background(), slog.LevelInfo) {
		t.Error("protoactor logs info into a logger at warn level")
	}
	if !q.system.Logger().Enabled(context.Background(), slog.LevelWarn) {
		t.Error("protoactor does not log warnings into a logger at warn level")
	}
}

func TestPebbleLogger(t *testing.T) {
	w := newLineWriter()
	log := zerolog.New(w).Level(zerolog.DebugLevel)
	p := pebbleLogger(&log)
	p.Infof("flushed %d", 3)
	p.Errorf("disk %s", "slow")
	s := w.String()
	for _, want := range []string{`"level":"debug","lib":"pebble","message":"flushed 3"`, `"level":"error","lib":"pebble","message":"disk slow"`} {
		if !strings.Contains(s, want) {
			t.Errorf("log %q lacks %q", s, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Fatalf returned")
		}
	}()
	p.Fatalf("corrupt")
}
