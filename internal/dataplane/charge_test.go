package dataplane

import (
	"testing"
)

// chargePlane is a plane with only what charges use: an account and the
// registry of live charges.
func chargePlane(capacity int64) *Plane {
	return &Plane{acct: NewAccount(capacity), charges: make(map[*Charge]struct{}), handles: make(map[*Handle]struct{})}
}

// grow reserves n bytes and charges them, as a store does.
func grow(t *testing.T, p *Plane, c *Charge, n int64) {
	t.Helper()
	if err := p.acct.Reserve(n); err != nil {
		t.Fatal(err)
	}
	c.Settle(n, n)
}

func wantUsed(t *testing.T, p *Plane, want int64, what string) {
	t.Helper()
	if got := p.acct.Used(); got != want {
		t.Fatalf("%s: account %d, want %d", what, got, want)
	}
}

// TestChargeIsAReferenceCountedAllocation is the contract a store relies on,
// whatever its representation: data shared by several holders is charged
// once and leaves the account with its last holder; what a region drops
// while a snapshot holds the charge stays charged until the snapshot lets
// go; the account is never negative.
func TestChargeIsAReferenceCountedAllocation(t *testing.T) {
	t.Run("shared by split children, charged once", func(t *testing.T) {
		p := chargePlane(0)
		c := p.newCharge(false)
		grow(t, p, c, 1000)
		c.Hold(false) // a second child
		c.Hold(false) // a third
		wantUsed(t, p, 1000, "three children")
		if c.LetGo(false, 300) {
			t.Fatal("gone with holders left")
		}
		wantUsed(t, p, 700, "a child let go of its 300")
		c.LetGo(false, 500)
		wantUsed(t, p, 200, "another of its 500")
		if !c.LetGo(false, 200) {
			t.Fatal("not gone after its last holder")
		}
		wantUsed(t, p, 0, "the last")
		if len(p.charges) != 0 {
			t.Fatalf("%d charges left registered", len(p.charges))
		}
	})
	t.Run("a snapshot keeps what a region drops", func(t *testing.T) {
		p := chargePlane(0)
		c := p.newCharge(false)
		grow(t, p, c, 1000)
		c.Hold(true) // a snapshot
		c.Settle(0, -400)
		wantUsed(t, p, 1000, "GC under a snapshot")
		if b, d := c.Bytes(); b != 1000 || d != 400 {
			t.Fatalf("bytes %d deferred %d", b, d)
		}
		grow(t, p, c, 50) // a write after the snapshot
		wantUsed(t, p, 1050, "a write")
		c.LetGo(true, 0)
		wantUsed(t, p, 650, "the snapshot let go: the deferred bytes leave")
		c.Settle(0, -50)
		wantUsed(t, p, 600, "without a snapshot, dropped bytes leave at once")
		c.LetGo(false, 600)
		wantUsed(t, p, 0, "the region let go")
	})
	t.Run("a region letting go under a snapshot", func(t *testing.T) {
		p := chargePlane(0)
		c := p.newCharge(false)
		grow(t, p, c, 800)
		c.Hold(true)
		c.LetGo(false, 800) // the region is released; the snapshot still reads it
		wantUsed(t, p, 800, "held by the snapshot alone")
		c.LetGo(true, 0)
		wantUsed(t, p, 0, "the snapshot let go")
	})
	t.Run("a copy moves to the regions without touching the account", func(t *testing.T) {
		p := chargePlane(0)
		if err := p.acct.Reserve(900); err != nil {
			t.Fatal(err)
		}
		cp := p.ChargeCopy(900)
		cp.Hold(false) // a split sibling shares the copy
		a, b := p.newCharge(false), p.newCharge(false)
		a.TakeFrom(cp, 400)
		wantUsed(t, p, 900, "first share installed")
		cp.LetGo(false, 0)
		b.TakeFrom(cp, 450)
		cp.LetGo(false, 0)
		wantUsed(t, p, 850, "the copy's 50 bytes nobody installed went back")
		a.LetGo(false, 400)
		b.LetGo(false, 450)
		wantUsed(t, p, 0, "both regions let go")
		if p.acct.Overdrawn() != 0 || p.AccountErrors() != 0 {
			t.Fatalf("overdrawn %d, account errors %d", p.acct.Overdrawn(), p.AccountErrors())
		}
	})
	t.Run("never negative, whatever a buggy store asks", func(t *testing.T) {
		p := chargePlane(0)
		c := p.newCharge(false)
		grow(t, p, c, 100)
		c.Settle(0, -500)
		wantUsed(t, p, 0, "dropping more than charged")
		c.LetGo(false, 100)
		c.LetGo(false, 0)
		c.Hold(true)
		c.Settle(0, 10)
		wantUsed(t, p, 0, "using a released charge")
		if p.AccountErrors() < 3 {
			t.Fatalf("account errors %d, want each impossible request counted", p.AccountErrors())
		}
	})
}
