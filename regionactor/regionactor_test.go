package regionactor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache/internal/actorlog"
	"github.com/regioncache/regioncache/internal/counters"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/testutil"
	"github.com/regioncache/regioncache/internal/testutil/leaktest"
	"github.com/regioncache/regioncache/messages"
	"github.com/regioncache/regioncache/regionactor"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// A region actor guards its own Receive (it has no receiver middleware, to
// stay small): a panic is logged with the message it was handling, and its
// parent resumes it with its state, so the next message is handled.
func TestPanicInReceiveIsLoggedAndTheActorGoesOn(t *testing.T) {
	var logs testutil.LogLines
	log := zerolog.New(&logs)
	sys := actorlog.NewActorSystem(zerolog.Nop())
	defer sys.Shutdown()
	// No data plane: a CopyDone that asks it to charge a copy panics.
	d := &regionactor.Deps{Counters: &counters.Set{}, Log: log, Ctx: context.Background(), SafePoint: func() uint64 { return 0 }}
	stepped := make(chan *messages.Stepped, 1)
	var child *actor.PID
	parent := actor.PropsFromFunc(func(c actor.Context) {
		switch msg := c.Message().(type) {
		case *actor.Started:
			child = c.Spawn(regionactor.Props(d, nil))
			c.Send(child, &messages.CopyDone{Gen: 1, Accounted: 1})
			c.Send(child, &messages.Step{Event: lifecycle.Evict{Reason: "test"}})
		case *messages.Stepped:
			stepped <- msg
		}
	}, actor.WithSupervisor(actorlog.ResumeOnPanic()))
	pid := sys.Root.Spawn(parent)
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()
	select {
	case msg := <-stepped:
		if msg.FromState != lifecycle.Absent || msg.To != lifecycle.Absent {
			t.Errorf("after the panic the actor stepped %s -> %s, want absent -> absent", msg.FromState, msg.To)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the region actor did not handle the message after its panic")
	}
	if lines := logs.Matching("actor panicked"); len(lines) != 1 || !strings.Contains(lines[0], "*messages.CopyDone") {
		t.Errorf("the panic was not logged once with its message: %q", lines)
	}
}
