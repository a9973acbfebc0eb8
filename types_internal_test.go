package regioncache

import (
	"testing"

	"github.com/regioncache/regioncache/internal/dataplane"
	"github.com/regioncache/regioncache/internal/lifecycle"
)

// The root's vocabularies are converted to the internal ones by value: each
// constant must equal its internal twin.
func TestRootConstantsMatchInternal(t *testing.T) {
	states := map[State]lifecycle.State{
		Absent: lifecycle.Absent, Pending: lifecycle.Pending, Loading: lifecycle.Loading, Active: lifecycle.Active,
		LoadingCanceled: lifecycle.LoadingCanceled, PendingEvict: lifecycle.PendingEvict, Evicting: lifecycle.Evicting,
	}
	if len(states) != len(lifecycle.States) {
		t.Fatalf("root has %d states, lifecycle %d", len(states), len(lifecycle.States))
	}
	for root, in := range states {
		if uint8(root) != uint8(in) || root.String() != in.String() {
			t.Errorf("state %s is %d, lifecycle's %s is %d", root, root, in, in)
		}
	}
	sources := map[Source]dataplane.Source{FromDisk: dataplane.FromDisk, FromMemory: dataplane.FromMemory, FromBoth: dataplane.FromBoth}
	for root, in := range sources {
		if uint8(root) != uint8(in) {
			t.Errorf("source %s is %d, dataplane's is %d", root, root, in)
		}
	}
	reasons := map[DiskReason]dataplane.DiskReason{
		cached: dataplane.Cached, NotCached: dataplane.NotCached, VersionMismatch: dataplane.VersionMismatch, TooOldRead: dataplane.TooOldRead,
	}
	for root, in := range reasons {
		if uint8(root) != uint8(in) {
			t.Errorf("disk reason %q is %d, dataplane's is %d", root, root, in)
		}
	}
}
