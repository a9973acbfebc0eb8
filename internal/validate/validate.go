// Package validate checks that settings lie in the range they can work in,
// with errors that say the range: the engine's options, config files and
// the demo command's flags share it so they say the same thing.
package validate

import (
	"fmt"
	"math"
)

// Int checks lo <= v <= hi.
func Int[T ~int | ~int64 | ~uint64](what string, v, lo, hi T) error {
	if v < lo || v > hi {
		return fmt.Errorf("%s %d is out of range [%d, %d]", what, v, lo, hi)
	}
	return nil
}

// Float checks that v is a number (not NaN nor infinite) with lo <= v <= hi.
func Float(what string, v, lo, hi float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%s %v is not a finite number; want one in [%g, %g]", what, v, lo, hi)
	}
	if v < lo || v > hi {
		return fmt.Errorf("%s %g is out of range [%g, %g]", what, v, lo, hi)
	}
	return nil
}
