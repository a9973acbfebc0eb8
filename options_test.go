package regioncache_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache"
)

func TestFunctionalOptions(t *testing.T) {
	var seen []regioncache.Transition
	reg := prometheus.NewRegistry()
	base := regioncache.Options{Loaders: 5}
	o := base.Apply(
		regioncache.WithDir(""),
		regioncache.WithLoaders(3),
		regioncache.WithCapacity(100<<20),
		regioncache.WithThresholds(90<<20, 70<<20),
		regioncache.WithLogger(zerolog.Nop()),
		regioncache.WithRegisterer(reg),
		regioncache.WithOnTransition(func(tr regioncache.Transition) { seen = append(seen, tr) }),
		regioncache.WithAutoLoadEvict(regioncache.AutoLoadEvict{Interval: time.Hour}),
		nil, // ignored
	)
	if base.Loaders != 5 {
		t.Fatal("Apply changed its receiver")
	}
	if o.Loaders != 3 || o.Capacity != 100<<20 || o.EvictThreshold != 90<<20 || o.StopLoadThreshold != 70<<20 ||
		o.Logger == nil || o.Registerer != reg || o.OnTransition == nil || !o.AutoLoadEvict.Enabled || o.AutoLoadEvict.Interval != time.Hour {
		t.Fatalf("applied options: %+v", o)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	e, err := regioncache.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	got := e.Options()
	if got.Loaders != 3 || got.AutoLoadEvict.MaxLoadsPerRound != regioncache.DefaultMaxLoadsPerRound {
		t.Errorf("effective options: %+v", got)
	}
}

func TestOpenWithDefaults(t *testing.T) {
	e, err := regioncache.OpenWith(regioncache.WithCapacity(1000))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
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
		{"negative loaders", regioncache.Options{Loaders: -1}, "loaders must be positive, got -1"},
		{"negative capacity", regioncache.Options{Capacity: -1}, "memory limits must not be negative"},
		{"evict above capacity", regioncache.Options{Capacity: 100, EvictThreshold: 200}, "evict threshold 200 is above capacity 100"},
		{"stop above capacity", regioncache.Options{Capacity: 100, EvictThreshold: 100, StopLoadThreshold: 101}, "stop-load threshold 101 is above capacity 100"},
		{"stop above evict", regioncache.Options{Capacity: 100, EvictThreshold: 50, StopLoadThreshold: 60}, "stop-load threshold 60 is above evict threshold 50"},
		{"negative auto", regioncache.Options{AutoLoadEvict: regioncache.AutoLoadEvict{Enabled: true, Interval: -time.Second}}, "must not be negative"},
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
