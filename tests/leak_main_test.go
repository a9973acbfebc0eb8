// Package tests holds the end-to-end tests: scenario and regression event
// logs replayed through package replay, model-based random logs with a
// shrinker, concurrency (linearizability) and liveness tests, and the soak.
package tests

import (
	"testing"

	"github.com/regioncache/regioncache/internal/testutil/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }
