package regioncache

import (
	"fmt"
)

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
