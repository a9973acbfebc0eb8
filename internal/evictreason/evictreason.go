// Package evictreason is the one definition of why a region is evicted: the
// event-log spec's reasons, which a host passes to Evict (after TiKV's
// EvictReason), and the two the engine gives itself. The root package's
// EvictReason constants, the event-log parser and the metrics' labels all
// come from here.
package evictreason

import (
	"fmt"
	"strings"
)

// Reason says why a region is evicted.
type Reason string

// The spec's reasons, which a host may give.
const (
	Manual             Reason = "manual"
	AutoEvict          Reason = "auto_evict"
	MemoryLimitReached Reason = "memory_limit_reached"
	BecomeFollower     Reason = "become_follower"
	DeleteRange        Reason = "delete_range"
	PrepareMerge       Reason = "prepare_merge"
	Merge              Reason = "merge"
	Disabled           Reason = "disabled"
	ApplySnapshot      Reason = "apply_snapshot"
	Flashback          Reason = "flashback"
	DestroyPeer        Reason = "destroy_peer"
	IngestSST          Reason = "ingest_sst"
)

// The engine's own reasons: a host never gives them.
const (
	// MissedChange: the engine learnt of a split or merge it had not been
	// told of, and drops what it can no longer vouch for.
	MissedChange Reason = "missed_change"
	// ReadError: the disk could not say whether a write changed a cached
	// region, so the region stops serving from memory.
	ReadError Reason = "read_error"
)

// Spec lists the reasons a host may give, in the spec's order.
var Spec = []Reason{Manual, AutoEvict, MemoryLimitReached, BecomeFollower, DeleteRange,
	PrepareMerge, Merge, Disabled, ApplySnapshot, Flashback, DestroyPeer, IngestSST}

// All lists every reason an eviction can have: Spec, then the engine's own.
var All = append(append([]Reason(nil), Spec...), MissedChange, ReadError)

// Parse returns the spec reason called s, or an error naming the valid ones.
func Parse(s string) (Reason, error) {
	for _, r := range Spec {
		if string(r) == s {
			return r, nil
		}
	}
	names := make([]string, len(Spec))
	for i, r := range Spec {
		names[i] = string(r)
	}
	return "", fmt.Errorf("regioncache: unknown evict reason %q (want one of %s)", s, strings.Join(names, ", "))
}

// Strings returns rs as strings.
func Strings(rs []Reason) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}
