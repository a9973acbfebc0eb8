package regioncache

import (
	"fmt"

	"github.com/regioncache/regioncache/internal/dataplane"
	"github.com/regioncache/regioncache/messages"
)

// Durability says when Write returns relative to stable storage, as
// Pebble's WriteOptions do.
//
// The trade-off: a synced write costs an fsync of Pebble's write-ahead log
// (concurrent writes share one, so throughput holds up under concurrency
// but a lone writer waits for the disk every time); an unsynced write
// returns as soon as it is visible and can be lost, with the writes after
// it, if the process or the machine dies before Pebble writes its log out.
// Either way a batch is atomic: after a crash it is there whole or not at
// all. A read can see a synced batch a moment before its Write returns (as
// in Pebble); only a Write that returned is promised to survive.
type Durability uint8

const (
	// DurabilityDefault: a batch follows Options.Durability, whose own
	// default is DurabilitySync.
	DurabilityDefault Durability = iota
	// DurabilitySync: Write returns once the batch is in the write-ahead
	// log on stable storage; a crash after that keeps it.
	DurabilitySync
	// DurabilityNoSync: Write returns once the batch is visible; a crash
	// can lose the batches acknowledged last.
	DurabilityNoSync
)

func (d Durability) String() string {
	switch d {
	case DurabilityDefault:
		return "default"
	case DurabilitySync:
		return "sync"
	case DurabilityNoSync:
		return "nosync"
	default:
		return fmt.Sprintf("Durability(%d)", uint8(d))
	}
}

func (d Durability) valid() bool { return d <= DurabilityNoSync }

// ParseDurability reads "sync" or "nosync" (and "" as DurabilityDefault).
func ParseDurability(s string) (Durability, error) {
	switch s {
	case "":
		return DurabilityDefault, nil
	case "sync":
		return DurabilitySync, nil
	case "nosync":
		return DurabilityNoSync, nil
	}
	return 0, fmt.Errorf("%w: durability %q: want sync or nosync", ErrInvalidOptions, s)
}

// SetDurability makes this batch's Write wait for stable storage or not,
// whatever Options.Durability says; DurabilityDefault follows it again.
func (b *Batch) SetDurability(d Durability) *Batch {
	if b == nil {
		b = new(Batch)
	}
	b.durability = d
	return b
}

// syncs reports whether a batch with durability d must be synced.
func (e *Engine) syncs(d Durability) bool {
	if d == DurabilityDefault {
		d = e.opts.Durability
	}
	return d != DurabilityNoSync
}

// evictDropped evicts the regions a write stopped serving from memory and
// waits until the supervisor has taken each eviction, so that when Write
// returns, RegionState and Stats no longer call them active.
func (e *Engine) evictDropped(drops []dataplane.Drop) {
	for _, d := range drops {
		req := &messages.EvictRegion{Region: d.Region, Reason: d.Reason, Reply: messages.NewReply[messages.EvictOutcome]()}
		if out, err := request(e, req, req.Reply); err == nil && out.Err != nil {
			e.log.Warn().Err(out.Err).Str("region", d.Region.String()).Str("reason", d.Reason).Msg("evicting a dropped region")
		}
	}
}
