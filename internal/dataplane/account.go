package dataplane

import (
	"fmt"
	"sync/atomic"
)

// Account is the engine-wide memory account of cached data. It has one way
// in: Reserve, a compare-and-swap that refuses to pass the capacity. Every
// byte that cached data will hold is reserved before it is allocated (a
// loader's copy through a Reservation, a write's new versions under the
// commit lock before they are applied), so the accounted bytes never exceed
// the capacity at any moment, whoever reserves at the same time. Release
// gives bytes back when data is dropped or turned out smaller than reserved.
//
// The zero Account has no capacity: Reserve always succeeds.
type Account struct {
	capacity int64 // 0: unlimited
	used     atomic.Int64
	peak     atomic.Int64 // the highest used has been
	// overdrawn counts bytes that had to be charged without a reservation
	// (an estimate that was too small): zero unless there is a bug.
	overdrawn atomic.Int64
}

// NewAccount returns an account refusing to pass capacity bytes (0: no limit).
func NewAccount(capacity int64) *Account { return &Account{capacity: capacity} }

// Capacity is the hard limit (0: none).
func (a *Account) Capacity() int64 { return a.capacity }

// Used is the bytes accounted now.
func (a *Account) Used() int64 { return a.used.Load() }

// Peak is the most bytes ever accounted at once: never above Capacity.
func (a *Account) Peak() int64 { return a.peak.Load() }

// Overdrawn is the bytes ever charged past a reservation; non-zero means an
// estimate of the data plane was wrong (a bug worth reporting).
func (a *Account) Overdrawn() int64 { return a.overdrawn.Load() }

// CapacityError reports a reservation refused because it would pass the
// capacity. It matches ErrCapacity.
type CapacityError struct {
	Want, Used, Capacity int64
}

func (e *CapacityError) Error() string {
	return fmt.Sprintf("%s: %d bytes wanted, %d of %d in use", ErrCapacity, e.Want, e.Used, e.Capacity)
}

// Is makes errors.Is(err, ErrCapacity) true.
func (e *CapacityError) Is(target error) bool { return target == ErrCapacity }

// Reserve accounts n bytes unless that would pass the capacity; then it
// accounts nothing and returns a *CapacityError. n <= 0 reserves nothing.
func (a *Account) Reserve(n int64) error {
	if n <= 0 {
		return nil
	}
	for {
		cur := a.used.Load()
		if a.capacity > 0 && cur+n > a.capacity {
			return &CapacityError{Want: n, Used: cur, Capacity: a.capacity}
		}
		if a.used.CompareAndSwap(cur, cur+n) {
			a.notePeak(cur + n)
			return nil
		}
	}
}

// Release gives back n bytes (n <= 0: nothing).
func (a *Account) Release(n int64) {
	if n > 0 {
		a.used.Add(-n)
	}
}

// overdraw charges n bytes that were allocated without a reservation. The
// account must stay truthful, so it is charged even past the capacity, and
// counted in Overdrawn.
func (a *Account) overdraw(n int64) {
	if n <= 0 {
		return
	}
	a.overdrawn.Add(n)
	a.notePeak(a.used.Add(n))
}

func (a *Account) notePeak(v int64) {
	for {
		p := a.peak.Load()
		if v <= p || a.peak.CompareAndSwap(p, v) {
			return
		}
	}
}

// settle turns a reservation of reserved bytes into a charge of actual
// bytes: the difference is released, or overdrawn if the reservation was
// too small.
func (a *Account) settle(reserved, actual int64) {
	switch {
	case actual < reserved:
		a.Release(reserved - actual)
	case actual > reserved:
		a.overdraw(actual - reserved)
	}
}

// DefaultReservationChunk is how many bytes a Reservation asks the account
// for at a time: a loader touches the shared account once per chunk, not
// once per version, and holds at most one chunk it has not allocated yet.
const DefaultReservationChunk = 256 << 10

// Reservation is bytes taken from an Account ahead of allocation by one
// builder of cached data (a loader's copy). The builder calls Take with the
// size of each version before it allocates it; Take asks the account for a
// chunk at a time, so the heap a copy grows is bounded by what the account
// granted plus at most one chunk, and a copy that cannot fit stops at its
// first refused chunk. It is not safe for concurrent use.
type Reservation struct {
	a     *Account
	chunk int64
	held  int64 // reserved from the account
	spent int64 // of which taken
}

// NewReservation starts an empty reservation on a that asks for chunk bytes
// at a time (<= 0: DefaultReservationChunk).
func (a *Account) NewReservation(chunk int64) *Reservation {
	if chunk <= 0 {
		chunk = DefaultReservationChunk
	}
	return &Reservation{a: a, chunk: chunk}
}

// Take spends n bytes, first reserving another chunk (or just what is
// missing, near the capacity) when what is held does not cover them. On an
// error nothing is spent and the builder must not allocate. It reports
// whether it asked the account, a natural moment for a long copy to check
// whether it should go on.
func (r *Reservation) Take(n int64) (refilled bool, err error) {
	if n <= 0 {
		return false, nil
	}
	if missing := r.spent + n - r.held; missing > 0 {
		want := max(missing, r.chunk)
		err := r.a.Reserve(want)
		if err != nil && want > missing {
			err = r.a.Reserve(missing)
			want = missing
		}
		if err != nil {
			return false, err
		}
		r.held += want
		refilled = true
	}
	r.spent += n
	return refilled, nil
}

// Spent is the bytes taken so far.
func (r *Reservation) Spent() int64 { return r.spent }

// Keep returns what was reserved but not taken to the account and ends the
// reservation; the spent bytes stay accounted, now owned by the caller
// (a loader's base run carries them to its region, which gives them back
// when the run's last holder lets go: Plane.DropRun). It returns the spent
// bytes.
func (r *Reservation) Keep() int64 {
	r.a.Release(r.held - r.spent)
	spent := r.spent
	r.held, r.spent = 0, 0
	return spent
}

// Cancel returns everything reserved, spent or not, to the account and
// ends the reservation: the builder dropped what it built.
func (r *Reservation) Cancel() {
	r.a.Release(r.held)
	r.held, r.spent = 0, 0
}
