package main

import (
	"os"
	"testing"

	"github.com/regioncache/regioncache/internal/testutil/leaktest"
)

// asDemo, set in the environment, makes the test binary run as the demo
// command itself: tests start it as a process to see what a terminal sees
// (separate stdout and stderr, the real exit status).
const asDemo = "REGIONCACHE_TEST_RUN_AS_DEMO"

func TestMain(m *testing.M) {
	if os.Getenv(asDemo) == "1" {
		main()
		return
	}
	leaktest.Main(m)
}
