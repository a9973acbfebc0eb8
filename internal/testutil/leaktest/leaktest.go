// Package leaktest is the goroutine leak check every test package runs: its
// TestMain calls Main, and a test that must name itself as the leaker calls
// Check. It imports nothing of the engine, so any package's tests can use it.
package leaktest

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// Options are the goroutines that may outlive a test. One is protoactor's,
// not ours: its dead-letter log throttle (actor/throttler.go) waits one
// throttle interval (1 s) after a dead letter and then exits. Closing an
// engine can produce a dead letter: stopping the supervisor stops every child
// it still lists, including a region actor that finished its life an instant
// earlier.
var Options = []goleak.Option{
	goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
}

// Main runs the package's tests and fails it if goroutines outlive them:
// every engine a test opens must be closed, and every goroutine a test starts
// must end. Use it as the whole of TestMain:
//
//	func TestMain(m *testing.M) { leaktest.Main(m) }
func Main(m *testing.M) { goleak.VerifyTestMain(m, Options...) }

// MainAfter is Main for a package whose tests share a fixture that lives
// until the last test: after closes it, once every test has run and before
// the check.
//
//	func TestMain(m *testing.M) { leaktest.MainAfter(m, closeFixture) }
func MainAfter(m *testing.M, after func()) {
	code := m.Run()
	after()
	if code == 0 {
		if err := goleak.Find(Options...); err != nil {
			fmt.Fprintln(os.Stderr, "goleak: goroutines outlived the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// Check verifies, once the test and its cleanups have run, that no goroutine
// the test started is still running, so the failure names the test that
// leaked. It must not be used by parallel tests.
func Check(t testing.TB) {
	t.Helper()
	opts := append([]goleak.Option{goleak.IgnoreCurrent()}, Options...)
	t.Cleanup(func() { goleak.VerifyNone(t, opts...) })
}
