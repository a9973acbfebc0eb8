package messages

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/regioncache/regioncache/internal/counters"
	"github.com/regioncache/regioncache/internal/lifecycle"
)

// JobTally counts the end of one load job exactly once, over every region
// that shares the job: the region that started it, and the children a split
// gave it while it ran. Each reports its part when its own machine ends it
// (or the supervisor reports canceled for one that can no longer be told);
// the last report names the job's end (lifecycle.JobEnd).
type JobTally struct {
	mu                          sync.Mutex
	members                     int
	activated, canceled, failed int
	// Started is when the job began copying, for load timings; zero when
	// the engine does not time loads.
	Started time.Time
}

// NewJobTally starts the tally of a job owned by one region.
func NewJobTally(started time.Time) *JobTally { return &JobTally{members: 1, Started: started} }

// Join adds n regions to the job (the new children of a split).
func (t *JobTally) Join(n int) {
	t.mu.Lock()
	t.members += n
	t.mu.Unlock()
}

// Report records one region's part. When it was the last part, it returns
// the counter naming the job's end and true.
func (t *JobTally) Report(p lifecycle.JobPart) (end counters.Name, last bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.members == 0 {
		return 0, false // every part is in: a report too many changes nothing
	}
	switch p {
	case lifecycle.JobActivated:
		t.activated++
	case lifecycle.JobFailed:
		t.failed++
	default:
		t.canceled++
	}
	t.members--
	if t.members > 0 {
		return 0, false
	}
	return lifecycle.JobEnd(t.activated, t.canceled, t.failed), true
}

// SnapshotHolders are the regions a memory snapshot holds: the one it was
// taken on and, after splits, every child whose range it covers (TiKV's
// "historical" regions). Releasing the snapshot tells each of them; a split
// adds the new children under the same lock, so a child counts a snapshot
// exactly when it will be told of its release.
type SnapshotHolders struct {
	mu       sync.Mutex
	released bool
	holders  []SnapshotHolder
}

// SnapshotHolder is one region incarnation a snapshot holds.
type SnapshotHolder struct {
	PID *actor.PID
	Gen uint64
}

// NewSnapshotHolders starts the list with the region the snapshot was taken on.
func NewSnapshotHolders(owner *actor.PID, gen uint64) *SnapshotHolders {
	return &SnapshotHolders{holders: []SnapshotHolder{{PID: owner, Gen: gen}}}
}

// Release marks the snapshot released and returns the holders to tell;
// a second call returns none.
func (h *SnapshotHolders) Release() []SnapshotHolder {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return nil
	}
	h.released = true
	return h.holders
}

// Released reports whether the snapshot was released.
func (h *SnapshotHolders) Released() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.released
}

// AdoptSnapshots makes a new split child a holder of every snapshot in holds
// not yet released. spawn starts the child knowing which snapshots it holds
// and returns its actor and generation; the lists are locked meanwhile, so
// a release either happened before (the child does not count it) or tells
// the child (which counts it).
func AdoptSnapshots(holds []*SnapshotHolders, spawn func(held []*SnapshotHolders) (*actor.PID, uint64)) {
	var held []*SnapshotHolders
	for _, h := range holds {
		h.mu.Lock()
		if !h.released {
			held = append(held, h)
		}
	}
	pid, gen := spawn(held)
	for _, h := range held {
		h.holders = append(h.holders, SnapshotHolder{PID: pid, Gen: gen})
	}
	for _, h := range holds {
		h.mu.Unlock()
	}
}
