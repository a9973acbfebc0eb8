package validate

import (
	"math"
	"strings"
	"testing"
)

func TestRanges(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want string // "" for no error, else a part of the message
	}{
		{"int inside", Int("loaders", 4, 1, 256), ""},
		{"int at the bounds", Int("loaders", 256, 1, 256), ""},
		{"int above", Int("loaders", 100_000_000, 1, 256), "loaders 100000000 is out of range [1, 256]"},
		{"int below", Int("loaders", -1, 1, 256), "out of range [1, 256]"},
		{"float inside", Float("threshold", 10, 1e-3, 1e9), ""},
		{"float NaN", Float("threshold", math.NaN(), 1e-3, 1e9), "threshold NaN is not a finite number"},
		{"float +Inf", Float("threshold", math.Inf(1), 1e-3, 1e9), "not a finite number"},
		{"float tiny", Float("speed", 1e-300, 1e-3, 1e9), "speed 1e-300 is out of range [0.001, 1e+09]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			switch {
			case c.want == "" && c.err != nil:
				t.Fatalf("unexpected error %v", c.err)
			case c.want != "" && (c.err == nil || !strings.Contains(c.err.Error(), c.want)):
				t.Fatalf("error %v, want one containing %q", c.err, c.want)
			}
		})
	}
}
