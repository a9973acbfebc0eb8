// Package tests holds the end-to-end tests: scenario and regression event
// logs replayed through package replay, model-based random logs with a
// shrinker, concurrency (linearizability) and liveness tests, and the soak.
package tests

import (
	"testing"

	"go.uber.org/goleak"
)

// protoactor's dead-letter log throttle (actor/throttler.go) waits one
// throttle interval (1 s) after a dead letter and then exits; closing an
// engine can produce a dead letter (a Stop for a region actor that finished
// its life an instant earlier). It is the library's and ends on its own.
var leakOptions = []goleak.Option{
	goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
}

// TestMain fails the package if goroutines outlive its tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, leakOptions...)
}

// verifyNoLeaks checks, once the test and its cleanups have run, that no
// goroutine the test started is still running, so the failure names the test
// that leaked. It must not be used by parallel tests.
func verifyNoLeaks(t *testing.T) {
	t.Helper()
	opts := append([]goleak.Option{goleak.IgnoreCurrent()}, leakOptions...)
	t.Cleanup(func() { goleak.VerifyNone(t, opts...) })
}
