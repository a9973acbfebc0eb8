package regioncache

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/regioncache/regioncache/internal/mvcc"
	"github.com/regioncache/regioncache/messages"
)

// DeclareRegions tells the engine the host's region table, or part of it:
// each region's id, version and range, as TiKV's region info provider
// does. It loads nothing. With AutoLoadEvict on, the declared regions are
// what the engine tracks reads for and chooses from; a host that declares
// its table need not call Load at all. Declaring again is harmless; a newer
// descriptor of a region replaces the older one, and one older than a
// version already seen is ignored. A declared region newer than a region
// the engine holds for its id or range means the engine missed a change:
// what it holds there is evicted (reason missed_change), as Load does.
//
// The regions must be valid and must not overlap one another or repeat an
// id; otherwise nothing is declared and the error matches ErrInvalidRegion.
func (e *Engine) DeclareRegions(regions []Region) error {
	exit, err := e.enter()
	if err != nil {
		return err
	}
	defer exit()
	if err := validateTable(regions); err != nil {
		return err
	}
	if len(regions) == 0 {
		return nil
	}
	req := &messages.DeclareRegions{Reply: messages.NewReply[error]()}
	for _, r := range regions {
		req.Regions = append(req.Regions, mvcc.Region(r.Clone()))
	}
	res, err := request(e, req, req.Reply)
	if err != nil {
		return err
	}
	return publicErr(res)
}

// validateTable checks that regions can be one region table.
func validateTable(regions []Region) error {
	ids := make(map[uint64]bool, len(regions))
	for _, r := range regions {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("regioncache: declared region %s: %w", r, err)
		}
		if ids[r.ID] {
			return fmt.Errorf("%w: region id %d declared twice", ErrInvalidRegion, r.ID)
		}
		ids[r.ID] = true
	}
	sorted := append([]Region(nil), regions...)
	sort.Slice(sorted, func(i, j int) bool { return bytes.Compare(sorted[i].Start, sorted[j].Start) < 0 })
	for i := 1; i < len(sorted); i++ {
		if sorted[i-1].Overlaps(sorted[i]) {
			return fmt.Errorf("%w: declared regions %s and %s overlap", ErrInvalidRegion, sorted[i-1], sorted[i])
		}
	}
	return nil
}
