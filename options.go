package regioncache

import (
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/regioncache/regioncache/internal/validate"
)

// The ranges Open accepts (zero always means the default). A setting
// outside them cannot work: Open refuses it with ErrInvalidOptions and the
// range in the message.
const (
	// MaxLoaders: loaders copy CPU-bound, one actor each; past a few per
	// core they only compete (100,000,000 made a load hang).
	MaxLoaders = 256
	// MaxCapacity is 1 PiB, so that no sum of reservations can overflow.
	MaxCapacity = 1 << 50
	// MinAutoInterval and MaxAutoInterval bound AutoLoadEvict.Interval.
	MinAutoInterval = 10 * time.Millisecond
	MaxAutoInterval = 7 * 24 * time.Hour
	// MaxAmplificationThreshold bounds AutoLoadEvict.AmplificationThreshold
	// (at least 1: a read steps over at least the version it returns).
	MaxAmplificationThreshold = 1e9
	// MaxLoadsPerRoundLimit bounds AutoLoadEvict.MaxLoadsPerRound.
	MaxLoadsPerRoundLimit = 1 << 20
)

// Validate reports whether Open would accept o, with the reason when not
// (an error matching ErrInvalidOptions). It does not change o.
func (o Options) Validate() error { return o.ensureDefaults() }

// ensureDefaults fills in every unset field with its default and checks
// the result; Open runs it on its copy of the options.
func (o *Options) ensureDefaults() error {
	if o.Loaders == 0 {
		o.Loaders = DefaultLoaders
	}
	if err := validate.Int("loaders", o.Loaders, 1, MaxLoaders); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
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
	if err := checkPebbleTemplate(o.Pebble); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	if a := &o.AutoLoadEvict; a.Enabled {
		if a.Interval == 0 {
			a.Interval = DefaultAutoInterval
		}
		if a.AmplificationThreshold == 0 {
			a.AmplificationThreshold = DefaultAmplificationThreshold
		}
		if a.MaxLoadsPerRound == 0 {
			a.MaxLoadsPerRound = DefaultMaxLoadsPerRound
		}
		var interval error
		if a.Interval < MinAutoInterval || a.Interval > MaxAutoInterval {
			interval = fmt.Errorf("automatic load/evict interval %s is out of range [%s, %s]", a.Interval, MinAutoInterval, MaxAutoInterval)
		}
		if err := errors.Join(interval,
			validate.Float("amplification threshold", a.AmplificationThreshold, 1, MaxAmplificationThreshold),
			validate.Int("max loads per round", a.MaxLoadsPerRound, 1, MaxLoadsPerRoundLimit),
		); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
		}
	}
	return nil
}

// Options returns the options the engine runs with, defaults filled in.
func (e *Engine) Options() Options { return e.opts }

// checkPebbleTemplate refuses a Pebble template that sets what the engine
// owns (see Options.Pebble), naming every such field.
func checkPebbleTemplate(p *pebble.Options) error {
	if p == nil {
		return nil
	}
	var errs []error
	refuse := func(set bool, field, why string) {
		if set {
			errs = append(errs, fmt.Errorf("the Pebble template sets %s: %s", field, why))
		}
	}
	refuse(p.FS != nil, "FS", "Options.Dir decides where the data lives (empty: in memory)")
	refuse(p.Lock != nil, "Lock", "the engine locks Options.Dir itself")
	refuse(p.Logger != nil, "Logger", "set Options.Logger, which receives Pebble's messages")
	refuse(p.LoggerAndTracer != nil, "LoggerAndTracer", "set Options.Logger, which receives Pebble's messages")
	refuse(p.Comparer != nil && p.Comparer != pebble.DefaultComparer, "Comparer",
		"the engine's keys are ordered bytewise, by Pebble's default comparer")
	refuse(p.ReadOnly, "ReadOnly", "the engine writes")
	refuse(p.DisableWAL, "DisableWAL", "a write must be durable as Options.Durability says")
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// Pebble's own checks (L0 thresholds in order, MemTableSize below 4 GiB,
	// ...), on a completed copy, so a bad template fails here and not deep
	// in Open.
	c := p.Clone()
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		return fmt.Errorf("the Pebble template: %w", err)
	}
	return nil
}
