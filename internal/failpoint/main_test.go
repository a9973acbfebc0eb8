package failpoint_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if goroutines outlive its tests: every engine a
// test opens must be closed, and every goroutine a test starts must end.
//
// One goroutine is protoactor's, not ours: its dead-letter log throttle
// (actor/throttler.go) waits one throttle interval (1 s) after a dead letter
// and then exits. Closing an engine can produce one: stopping the supervisor
// stops every child it still lists, including a region actor that finished
// its life an instant earlier.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"))
}
