package regioncache

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Option sets one field of Options; see OpenWith and Options.Apply.
type Option func(*Options)

// OpenWith opens an engine with the zero Options changed by opts:
//
//	e, err := regioncache.OpenWith(regioncache.WithDir("/var/lib/cache"), regioncache.WithCapacity(256<<20))
func OpenWith(opts ...Option) (*Engine, error) {
	return Open(Options{}.Apply(opts...))
}

// Apply returns a copy of o changed by opts, in order; o is unchanged. It is
// how settings from a file (package config) meet settings from code:
//
//	o, err := config.Load("regioncache.toml")
//	e, err := regioncache.Open(o.Apply(regioncache.WithLogger(log), regioncache.WithRegisterer(reg)))
func (o Options) Apply(opts ...Option) Options {
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// WithDir keeps the disk engine (Pebble) in dir; "" keeps it in memory.
func WithDir(dir string) Option { return func(o *Options) { o.Dir = dir } }

// WithLoaders bounds how many regions are copied into memory at once.
func WithLoaders(n int) Option { return func(o *Options) { o.Loaders = n } }

// WithCapacity sets the hard limit on cached data in bytes; the thresholds
// left unset default to 90% (evict) and 80% (stop load) of it.
func WithCapacity(bytes int64) Option { return func(o *Options) { o.Capacity = bytes } }

// WithThresholds sets the evict and stop-load thresholds in bytes.
func WithThresholds(evict, stopLoad int64) Option {
	return func(o *Options) { o.EvictThreshold, o.StopLoadThreshold = evict, stopLoad }
}

// WithLogger sends the engine's logs (protoactor's and Pebble's included)
// to log, at log's level.
func WithLogger(log zerolog.Logger) Option { return func(o *Options) { o.Logger = &log } }

// WithRegisterer registers the engine's Prometheus metrics on r.
func WithRegisterer(r prometheus.Registerer) Option { return func(o *Options) { o.Registerer = r } }

// WithActorSystem runs the engine's actors in the host's actor system.
func WithActorSystem(s *actor.ActorSystem) Option { return func(o *Options) { o.ActorSystem = s } }

// WithOnTransition calls fn for every region state change (see
// Options.OnTransition).
func WithOnTransition(fn func(Transition)) Option { return func(o *Options) { o.OnTransition = fn } }

// WithAutoLoadEvict turns automatic load and evict on with a's settings
// (zero fields take their defaults).
func WithAutoLoadEvict(a AutoLoadEvict) Option {
	return func(o *Options) {
		a.Enabled = true
		o.AutoLoadEvict = a
	}
}

// Validate reports whether Open would accept o, with the reason when not
// (an error matching ErrInvalidOptions). It does not change o.
func (o Options) Validate() error { return o.ensureDefaults() }

// ensureDefaults fills in every unset field with its default and checks
// the result; Open runs it on its copy of the options.
func (o *Options) ensureDefaults() error {
	if o.Loaders < 0 {
		return fmt.Errorf("%w: loaders must be positive, got %d", ErrInvalidOptions, o.Loaders)
	}
	if o.Loaders == 0 {
		o.Loaders = DefaultLoaders
	}
	if !o.Durability.valid() {
		return fmt.Errorf("%w: durability %s: want DurabilitySync or DurabilityNoSync", ErrInvalidOptions, o.Durability)
	}
	if o.Durability == DurabilityDefault {
		o.Durability = DurabilitySync
	}
	if err := o.ensureMemoryDefaults(); err != nil {
		return err
	}
	if a := &o.AutoLoadEvict; a.Enabled {
		if a.Interval < 0 || a.AmplificationThreshold < 0 || a.MaxLoadsPerRound < 0 {
			return fmt.Errorf("%w: automatic load/evict settings must not be negative", ErrInvalidOptions)
		}
		if a.Interval == 0 {
			a.Interval = DefaultAutoInterval
		}
		if a.AmplificationThreshold == 0 {
			a.AmplificationThreshold = DefaultAmplificationThreshold
		}
		if a.MaxLoadsPerRound == 0 {
			a.MaxLoadsPerRound = DefaultMaxLoadsPerRound
		}
	}
	return nil
}

// Options returns the options the engine runs with, defaults filled in.
func (e *Engine) Options() Options { return e.opts }
