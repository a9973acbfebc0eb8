package dataplane

import (
	"fmt"
	"sync"
)

// Charge is one reference-counted allocation on the memory account: bytes of
// cached data that one or more holders keep alive. Holders are regions (the
// region a load filled, and the children of its splits, which share its
// data) and memory snapshots (which read the data as it was). Data shared by
// several holders is charged once; it leaves the account when its last
// holder lets go.
//
// A Charge knows nothing of how the data is stored. Bytes enter it only
// through the Account's one way in: a store reserves them first, then
// reports the change its data made (Settle: what was reserved, what was
// added or dropped), or moves bytes already reserved from another charge
// (TakeFrom: a loader's copy becoming a region's data). When a region holder
// lets go it passes its share, the bytes only it could read. Bytes a region
// drops while a snapshot still holds the charge stay charged (deferred)
// until the last snapshot lets go: the snapshot may still read them. A store
// whose data is immutable runs (shared by split children and snapshots)
// needs only one charge per run, Hold per holder and LetGo with a zero share.
//
// The account is never negative: every byte a charge gives back it took
// from the account first, and a charge never gives back more than it holds
// (a store that asks for more is a bug, counted by Plane.AccountErrors and
// clamped).
type Charge struct {
	p  *Plane
	mu sync.Mutex
	// bytes is what this charge adds to the account now.
	bytes int64
	// holders counts regions and snapshots; readers the snapshots among them.
	holders, readers int
	// deferred is the part of bytes that regions let go while a snapshot
	// held the charge.
	deferred int64
	// copy: the charge is a loader's reservation for a copy (ChargeCopy),
	// held by the regions the copy is for until each has installed or
	// discarded its share.
	copy bool
	// run: the charge of an immutable base run, whose bytes stay whole
	// until its last holder lets go (holders pass a zero share).
	run bool
}

// newCharge starts an empty charge held by one region (or, for copy, by the
// regions a loader's copy is for).
func (p *Plane) newCharge(copy bool) *Charge {
	c := &Charge{p: p, holders: 1, copy: copy}
	p.chargesMu.Lock()
	p.charges[c] = struct{}{}
	p.chargesMu.Unlock()
	return c
}

// Hold adds a holder: a region sharing the data (reader false) or a
// snapshot reading it (reader true).
func (c *Charge) Hold(reader bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holders == 0 {
		c.p.accountError("hold of a released charge")
		return
	}
	c.holders++
	if reader {
		c.readers++
	}
}

// Settle records a change of delta bytes a holder made to the data, for
// which it reserved reserved bytes from the account first: added bytes are
// charged (what was reserved and not used goes back; a change larger than
// the reservation is overdrawn, see Account.Overdrawn), dropped bytes go
// back unless a snapshot holds the charge (then they are deferred).
func (c *Charge) Settle(reserved, delta int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holders == 0 {
		c.p.accountError(fmt.Sprintf("change of %d bytes to a released charge", delta))
		c.p.acct.Release(reserved)
		return
	}
	if delta > 0 {
		c.bytes += delta
		c.p.acct.settle(reserved, delta)
		return
	}
	c.p.acct.Release(reserved)
	c.shrinkLocked(-delta)
}

// shrinkLocked gives back n bytes a region dropped, or defers them while a
// snapshot holds the charge.
func (c *Charge) shrinkLocked(n int64) {
	switch {
	case n <= 0:
	case c.readers > 0:
		c.deferred += n
		if c.deferred > c.bytes {
			c.p.accountError(fmt.Sprintf("region dropped %d bytes more than its charge holds", c.deferred-c.bytes))
			c.deferred = c.bytes
		}
	default:
		if n > c.bytes-c.deferred {
			c.p.accountError(fmt.Sprintf("region dropped %d bytes from a charge of %d", n, c.bytes-c.deferred))
			n = c.bytes - c.deferred
		}
		c.bytes -= n
		c.p.acct.Release(n)
	}
}

// TakeFrom moves n bytes already on the account from src to c (a region
// installing its share of a loader's copy): the account does not change.
// Should src hold less (a bug), the rest is overdrawn.
func (c *Charge) TakeFrom(src *Charge, n int64) {
	if n <= 0 {
		return
	}
	var moved int64
	if src != nil {
		src.mu.Lock()
		moved = min(n, src.bytes-src.deferred)
		src.bytes -= moved
		src.mu.Unlock()
	}
	c.mu.Lock()
	c.bytes += moved
	c.mu.Unlock()
	if moved < n {
		c.Settle(0, n-moved)
	}
}

// LetGo removes a holder. A region passes share, the bytes of the data only
// it could read (its range of the shared data); a snapshot passes 0. The
// last reader to let go takes the deferred bytes away; the last holder takes
// whatever is left. It reports whether the charge is gone.
func (c *Charge) LetGo(reader bool, share int64) (gone bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holders == 0 {
		c.p.accountError("let go of a released charge")
		return true
	}
	if !reader {
		c.shrinkLocked(share)
	}
	c.holders--
	if reader {
		c.readers--
		if c.readers == 0 && c.deferred > 0 {
			c.bytes -= c.deferred
			c.p.acct.Release(c.deferred)
			c.deferred = 0
		}
	}
	if c.holders > 0 {
		return false
	}
	c.p.acct.Release(c.bytes)
	c.bytes, c.deferred, c.readers = 0, 0, 0
	c.p.chargesMu.Lock()
	delete(c.p.charges, c)
	c.p.chargesMu.Unlock()
	return true
}

// Holders is how many hold the charge, and how many of them are readers.
func (c *Charge) Holders() (holders, readers int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.holders, c.readers
}

// Bytes is what the charge adds to the account now, and the part of it
// deferred for snapshots.
func (c *Charge) Bytes() (bytes, deferred int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes, c.deferred
}

func (p *Plane) accountError(what string) {
	p.accountErrors.Add(1)
	if p.limits.OnAccountError != nil {
		p.limits.OnAccountError(what)
	}
}

// AccountErrors counts the times a store asked the account for something
// impossible (taking away more than it added, using a released charge). It
// is zero unless the engine has a bug; tests assert it.
func (p *Plane) AccountErrors() int64 { return p.accountErrors.Load() }

// AuditAccount recomputes the memory account from the data itself and
// returns every disagreement (none when the account is right). It is meant
// for an idle engine (no load, release or GC in flight), where the account
// must be exactly:
//   - the sum of the live charges (no loader holds a reservation);
//   - for each charge, the bytes each region holding it can read (the
//     versions in its range), plus what regions let go while a snapshot
//     held it (deferred);
//   - never negative, and no account error ever.
//
// It holds writes off while it looks, and costs a scan of every region.
func (p *Plane) AuditAccount() []string {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	p.chargesMu.Lock()
	handles := make([]*Handle, 0, len(p.handles))
	for h := range p.handles {
		handles = append(handles, h)
	}
	charges := make([]*Charge, 0, len(p.charges))
	for c := range p.charges {
		charges = append(charges, c)
	}
	p.chargesMu.Unlock()
	held := make(map[*Charge]int64, len(charges))
	for _, h := range handles {
		h.mu.RLock()
		if h.charge != nil {
			held[h.charge] += h.share()
		}
		h.mu.RUnlock()
	}
	var sum int64
	for _, c := range charges {
		c.mu.Lock()
		bytes, deferred, copyRes, holders := c.bytes, c.deferred, c.copy, c.holders
		c.mu.Unlock()
		sum += bytes
		if copyRes {
			bad("a load's copy reservation of %d bytes is still charged (%d holders)", bytes, holders)
			continue
		}
		if c.run {
			// A base run is charged whole while anyone (a region, a
			// split sibling, a snapshot, a compaction) holds it.
			if bytes <= 0 || deferred != 0 {
				bad("a base run's charge holds %d bytes (%d deferred)", bytes, deferred)
			}
			continue
		}
		if want := held[c] + deferred; bytes != want {
			bad("a charge holds %d bytes; its regions can read %d and %d are deferred for snapshots", bytes, held[c], deferred)
		}
		delete(held, c)
	}
	for c, n := range held {
		_ = c
		bad("a region holds %d bytes under a charge the account does not know", n)
	}
	used := p.acct.Used()
	if used < 0 {
		bad("the account is negative: %d bytes", used)
	}
	if used != sum {
		bad("the account is %d bytes; its charges add up to %d", used, sum)
	}
	if n := p.accountErrors.Load(); n > 0 {
		bad("%d impossible requests to the account", n)
	}
	if n := p.acct.Overdrawn(); n > 0 {
		bad("%d bytes were charged without a reservation", n)
	}
	return problems
}
