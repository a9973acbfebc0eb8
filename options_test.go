package regioncache_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

func TestOpenFillsDefaults(t *testing.T) {
	var seen []regioncache.Transition
	log := zerolog.Nop()
	reg := prometheus.NewRegistry()
	o := regioncache.Options{
		Loaders: 3, Capacity: 100 << 20, EvictThreshold: 90 << 20, StopLoadThreshold: 70 << 20,
		Logger: &log, Registerer: reg,
		OnTransition:  func(tr regioncache.Transition) { seen = append(seen, tr) },
		AutoLoadEvict: regioncache.AutoLoadEvict{Enabled: true, Interval: time.Hour},
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	e := testutil.Open(t, o)
	got := e.Options()
	if got.Loaders != 3 || got.AutoLoadEvict.MaxLoadsPerRound != regioncache.DefaultMaxLoadsPerRound {
		t.Errorf("effective options: %+v", got)
	}
}

func TestZeroOptionsDefaults(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{Capacity: 1000})
	o := e.Options()
	if o.Loaders != regioncache.DefaultLoaders || o.Capacity != 1000 || o.EvictThreshold != 900 || o.StopLoadThreshold != 800 {
		t.Errorf("defaults: loaders %d capacity %d evict %d stop %d", o.Loaders, o.Capacity, o.EvictThreshold, o.StopLoadThreshold)
	}
	if o.AutoLoadEvict.Enabled || o.Registerer != nil || o.Logger != nil {
		t.Errorf("off by default: %+v", o)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		o    regioncache.Options
		want string // "" valid
	}{
		{"zero", regioncache.Options{}, ""},
		{"negative loaders", regioncache.Options{Loaders: -1}, "loaders -1 is out of range [1, 256]"},
		{"absurd loaders", regioncache.Options{Loaders: 100_000_000}, "loaders 100000000 is out of range [1, 256]"},
		{"absurd capacity", regioncache.Options{Capacity: 1 << 62}, "capacity 4611686018427387904 is out of range [1, 1125899906842624]"},
		{"NaN amplification", regioncache.Options{AutoLoadEvict: regioncache.AutoLoadEvict{Enabled: true, AmplificationThreshold: math.NaN()}},
			"amplification threshold NaN is not a finite number; want one in [1, 1e+09]"},
		{"infinite amplification", regioncache.Options{AutoLoadEvict: regioncache.AutoLoadEvict{Enabled: true, AmplificationThreshold: math.Inf(1)}},
			"amplification threshold +Inf is not a finite number"},
		{"tiny amplification", regioncache.Options{AutoLoadEvict: regioncache.AutoLoadEvict{Enabled: true, AmplificationThreshold: 1e-300}},
			"amplification threshold 1e-300 is out of range [1, 1e+09]"},
		{"busy interval", regioncache.Options{AutoLoadEvict: regioncache.AutoLoadEvict{Enabled: true, Interval: time.Nanosecond}},
			"interval 1ns is out of range [10ms, 168h0m0s]"},
		{"absurd loads per round", regioncache.Options{AutoLoadEvict: regioncache.AutoLoadEvict{Enabled: true, MaxLoadsPerRound: 1 << 30}},
			"max loads per round 1073741824 is out of range [1, 1048576]"},
		{"negative capacity", regioncache.Options{Capacity: -1}, "capacity -1 is negative"},
		{"evict above capacity", regioncache.Options{Capacity: 100, EvictThreshold: 200}, "evict threshold 200 is above capacity 100"},
		{"stop above capacity", regioncache.Options{Capacity: 100, EvictThreshold: 100, StopLoadThreshold: 101}, "stop-load threshold 101 is above capacity 100"},
		{"stop above evict", regioncache.Options{Capacity: 100, EvictThreshold: 50, StopLoadThreshold: 60}, "stop-load threshold 60 is above evict threshold 50"},
		{"negative auto", regioncache.Options{AutoLoadEvict: regioncache.AutoLoadEvict{Enabled: true, Interval: -time.Second}}, "interval -1s is out of range"},
		{"negative auto off", regioncache.Options{AutoLoadEvict: regioncache.AutoLoadEvict{Interval: -time.Second}}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.o.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, regioncache.ErrInvalidOptions) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate: %v, want ErrInvalidOptions with %q", err, c.want)
			}
			// Open refuses exactly what Validate refuses.
			if _, oerr := regioncache.Open(c.o); oerr == nil || oerr.Error() != err.Error() {
				t.Fatalf("Open: %v, Validate: %v", oerr, err)
			}
		})
	}
}
