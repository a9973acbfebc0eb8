package replay

import (
	"fmt"
	"math"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/eventlog"
)

// engineOptions maps a log's config and the replay's options to the
// engine's; it is the only place that knows how the two line up. Settings
// the log leaves out keep the engine's defaults.
func engineOptions(c eventlog.Config, o Options) (regioncache.Options, error) {
	for _, f := range []struct {
		name string
		v    uint64
	}{{"capacity", c.Capacity}, {"evict_threshold", c.EvictThreshold}, {"stop_load_threshold", c.StopLoadThreshold}} {
		if f.v > math.MaxInt64 {
			return regioncache.Options{}, fmt.Errorf("regioncache: replay: config %s %d is beyond what the engine can take", f.name, f.v)
		}
	}
	return regioncache.Options{
		Dir:               o.DataDir,
		Loaders:           c.Loaders,
		Capacity:          int64(c.Capacity),
		EvictThreshold:    int64(c.EvictThreshold),
		StopLoadThreshold: int64(c.StopLoadThreshold),
		Logger:            o.Logger,
		Registerer:        o.Registerer,
	}, nil
}

// CheckConfig reports whether the engine accepts a log's config (the
// thresholds against the capacity, the loaders' range), with Open's reason
// when it does not: a replay checks it before it runs anything.
func CheckConfig(c eventlog.Config) error {
	eo, err := engineOptions(c, Options{})
	if err != nil {
		return err
	}
	return eo.Validate()
}
