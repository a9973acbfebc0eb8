package model

import (
	"testing"

	"github.com/regioncache/regioncache/internal/testutil/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }
