package dataplane

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/regioncache/regioncache/internal/diskengine"
)

// TestDiskSnapshotCloseWaitsForItsReaders: a Pebble snapshot must not be
// closed while another goroutine still iterates it (the race detector once
// reported pebble.(*Snapshot).Close against a reader). A close, by its owner
// or by the plane at engine close, now waits for the reads in flight, and a
// read after the close is refused with ErrClosed instead of Pebble's panic.
func TestDiskSnapshotCloseWaitsForItsReaders(t *testing.T) {
	for _, tc := range []struct {
		name  string
		close func(p *Plane, s DiskSnapshot)
	}{
		{"owner closes", func(_ *Plane, s DiskSnapshot) { s.Close() }},
		{"plane closes at engine close", func(p *Plane, _ DiskSnapshot) { p.CloseSnapshots() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := diskengine.Open(diskengine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			p := New(db, Limits{Capacity: 1 << 20})
			defer p.CloseSnapshots()
			snap, err := p.NewDiskSnapshot()
			if err != nil {
				t.Fatal(err)
			}

			inside, release := make(chan struct{}), make(chan struct{})
			var readDone atomic.Bool
			readErr := make(chan error, 1)
			go func() {
				readErr <- snap.Read(func(r diskengine.Reader) error {
					close(inside)
					<-release
					// A real Pebble read after the close was asked for.
					_, _, err := r.Get([]byte("k"), 10)
					readDone.Store(true)
					return err
				})
			}()
			<-inside
			if snap.s.mu.TryLock() {
				t.Fatal("the snapshot could be closed while a read is in flight")
			}
			closed := make(chan bool, 1)
			go func() {
				tc.close(p, snap)
				closed <- readDone.Load()
			}()
			close(release)
			if err := <-readErr; err != nil {
				t.Fatalf("read in flight: %v", err)
			}
			if !<-closed {
				t.Fatal("the snapshot was closed before its read finished")
			}
			if err := snap.Read(func(diskengine.Reader) error { return nil }); !errors.Is(err, ErrClosed) {
				t.Fatalf("read after close: %v, want ErrClosed", err)
			}
			snap.Close() // idempotent, also after the plane closed it
		})
	}
}
