// Package loaderactor does the copy work: a pool actor that queues load jobs
// and grants a bounded number of loader actors, and the loaders, which copy a
// region's versions from a disk snapshot into a new base run
// (memstore.RunBuilder), reserving each chunk of memory before allocating it.
//
// A loader that panics is restarted by the pool; before the restart it
// reports its job as failed, so the region is never left loading.
//
// It is the engine's actor layer, importable because the product's layout
// keeps it at the top level, but with no compatibility promise to importers:
// embed package regioncache instead.
package loaderactor

import (
	"context"
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache/internal/actorlog"
	"github.com/regioncache/regioncache/internal/dataplane"
	"github.com/regioncache/regioncache/internal/diskengine"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/loadpipe"
	"github.com/regioncache/regioncache/internal/memstore"
	"github.com/regioncache/regioncache/messages"
)

// Deps are what the pool and its loaders need from the engine.
type Deps struct {
	Plane      *dataplane.Plane
	Failpoints *failpoint.Set
	Log        zerolog.Logger
	Loaders    int
	// Grants receives LoaderGrant messages (the supervisor).
	Grants *actor.PID
}

// PoolProps returns the props of the loader pool.
func PoolProps(d *Deps) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &pool{d: d} },
		actor.WithReceiverMiddleware(actorlog.PanicGuard(d.Log)),
		actor.WithSupervisor(actor.NewRestartingStrategy()),
	)
}

type pool struct {
	d     *Deps
	idle  []*actor.PID
	queue []*messages.RequestLoader
}

func (p *pool) Receive(c actor.Context) {
	switch msg := c.Message().(type) {
	case *actor.Started:
		n := p.d.Loaders
		if n < 1 {
			n = 1
		}
		for i := 0; i < n; i++ {
			p.idle = append(p.idle, c.SpawnPrefix(loaderProps(p.d, c.Self()), fmt.Sprintf("loader-%d-", i)))
		}
	case *messages.RequestLoader:
		p.queue = append(p.queue, msg)
		p.dispatch(c)
	case *messages.CancelLoaderRequest:
		for i, q := range p.queue {
			if q.Inc.Region.ID == msg.RegionID && q.Inc.Gen == msg.Gen {
				p.queue = append(p.queue[:i], p.queue[i+1:]...)
				break
			}
		}
	case *messages.LoaderDeclined:
		p.free(c, msg.Worker)
	case *messages.LoaderIdle:
		p.free(c, msg.Worker)
	}
}

func (p *pool) free(c actor.Context, w *actor.PID) {
	for _, i := range p.idle {
		if i.Equal(w) {
			return // already idle: a duplicate report changes nothing
		}
	}
	p.idle = append(p.idle, w)
	p.dispatch(c)
}

func (p *pool) dispatch(c actor.Context) {
	for len(p.idle) > 0 && len(p.queue) > 0 {
		w, q := p.idle[0], p.queue[0]
		p.idle, p.queue = p.idle[1:], p.queue[1:]
		c.Send(p.d.Grants, &messages.LoaderGrant{RegionID: q.Inc.Region.ID, Gen: q.Inc.Gen, Worker: w})
	}
}

func loaderProps(d *Deps, pool *actor.PID) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &loader{d: d, pool: pool} },
		actor.WithReceiverMiddleware(actorlog.PanicGuard(d.Log)))
}

type loader struct {
	d    *Deps
	pool *actor.PID
	// job in progress and the bytes it reserved; read by the old instance
	// on Restarting after a panic, which gives the bytes back.
	job *messages.Job
	res *dataplane.Reservation
}

func (l *loader) Receive(c actor.Context) {
	switch msg := c.Message().(type) {
	case *messages.Copy:
		l.job, l.res = msg.Job, l.d.Plane.Account().NewReservation(0)
		run, keys, err := l.copy(msg.Job)
		l.finish(c, run, keys, err)
	case *actor.Restarting:
		if l.job != nil {
			l.finish(c, nil, 0, errors.New("loader panicked"))
		}
	case *actor.Stopping:
		if l.job != nil {
			l.finish(c, nil, 0, context.Canceled)
		}
	}
}

var errAbandoned = errors.New("load canceled")

// copy builds the region's base run from the job's disk snapshot. The
// builder reserves each arena or index chunk (at most 1 MiB) before it
// allocates it, through the job's Reservation, so the heap never grows much
// past what the account granted, and the first chunk that does not fit
// stops the copy. The reservation keeps what the builder took until finish.
func (l *loader) copy(job *messages.Job) (*memstore.Run, int, error) {
	if err := l.d.Failpoints.Eval(job.Ctx, failpoint.LoadBeforeCopy); err != nil {
		return nil, 0, err
	}
	if job.Canceled.Load() {
		return nil, 0, errAbandoned
	}
	if err := l.d.Plane.CheckStopLoad(); err != nil {
		return nil, 0, err
	}
	r := job.Inc.Region
	res := l.res
	// Versions no read above the safe point can see are never copied: with a
	// lagging host GC they are most of the disk's data, and reserving them
	// first would make a load need many times the memory it ends up using.
	// The builder drops them as it goes (one key compare per version, which
	// it makes anyway for its order check).
	b := memstore.NewRunBuilder(job.SafePoint, func(n int64) error {
		if n <= 0 {
			return nil // what the run gives back is settled in finish
		}
		_, err := res.Take(n)
		return err
	})
	// The snapshot is iterated on this goroutine and the run built on a
	// second one that Copy owns and joins before it returns (loadpipe): a
	// load then costs about one Pebble iteration where a second processor
	// is free. Copy looks at the job's cancel flag and the engine's context
	// every loadpipe.DefaultCheckEvery versions, and stops both goroutines
	// at the first error of either.
	var n int
	err := job.Snapshot.Read(func(disk diskengine.Reader) error {
		// The first and last keys bound every key of the copy: with the
		// prefix they share, each record's key prefix is taken as it is
		// added, not in a pass over the whole run at the end. (A region's
		// bounds share less than its keys do as a rule.)
		first, last, ok, err := disk.KeyRange(r.Start, r.End)
		switch {
		case err != nil:
			return err
		case ok:
			b.Within(first, last)
		default:
			b.Within(r.Start, r.End)
		}
		n, err = loadpipe.Copy(func(yield func(key, value []byte) error) error {
			return disk.EncodedVersions(r.Start, r.End, yield)
		}, b, loadpipe.Options{Check: func() error {
			if job.Canceled.Load() {
				return errAbandoned
			}
			return job.Ctx.Err()
		}})
		return err
	})
	var run *memstore.Run
	if err == nil {
		run, err = b.Finish()
	}
	if err != nil {
		return nil, 0, err
	}
	if err := l.d.Failpoints.Eval(job.Ctx, failpoint.LoadAfterCopy); err != nil {
		return nil, 0, err // the run is dropped; finish gives its bytes back
	}
	return run, n, nil
}

func (l *loader) finish(c actor.Context, run *memstore.Run, keys int, err error) {
	job := l.job
	l.job = nil
	job.Snapshot.Close()
	// A finished copy keeps exactly its run's bytes (the region charges
	// them, dataplane.ChargeCopy, and its Activate moves them to the run's
	// own charge); a failed one gives everything back now.
	var accounted int64
	if err == nil {
		spent := l.res.Keep()
		accounted = run.Bytes()
		l.d.Plane.Account().Release(spent - accounted)
	} else {
		l.res.Cancel()
	}
	l.res = nil
	done := &messages.CopyDone{Gen: job.Inc.Gen, Run: run, Accounted: accounted, Keys: keys, Err: err}
	switch {
	case err == nil:
		done.Result = lifecycle.CopyComplete
	case errors.Is(err, errAbandoned):
		done.Result = lifecycle.CopyAbandoned
	default:
		done.Result = lifecycle.CopyFailed
		l.d.Log.Warn().Err(err).Uint64("region", job.Inc.Region.ID).Uint64("gen", job.Inc.Gen).Msg("load failed")
	}
	c.Send(job.Region, done)
	c.Send(l.pool, &messages.LoaderIdle{Worker: c.Self()})
}
