package regioncache_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if goroutines outlive its tests: every engine a
// test opens must be closed, and every goroutine a test starts must end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
