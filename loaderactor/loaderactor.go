// Package loaderactor does the copy work: a pool actor that queues load jobs
// and grants a bounded number of loader actors, and the loaders, which copy a
// region's versions from a disk snapshot into a new in-memory tree.
//
// A loader that panics is restarted by the pool; before the restart it
// reports its job as failed, so the region is never left loading.
package loaderactor

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache/internal/actorlog"
	"github.com/regioncache/regioncache/internal/dataplane"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/memstore"
	"github.com/regioncache/regioncache/internal/mvcc"
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
	// job in progress; read by the old instance on Restarting after a panic.
	job       *messages.Job
	accounted int64
}

func (l *loader) Receive(c actor.Context) {
	switch msg := c.Message().(type) {
	case *messages.Copy:
		l.job, l.accounted = msg.Job, 0
		tree, keys, err := l.copy(msg.Job)
		l.finish(c, tree, keys, err)
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

// copyCheckEvery is how many versions a loader copies between looks at its
// job's cancel flag and the engine's context.
const copyCheckEvery = 4096

func (l *loader) copy(job *messages.Job) (*memstore.Tree, int, error) {
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
	b := memstore.NewBuilder()
	// Versions no read above the safe point can see are never copied: with a
	// lagging host GC they are most of the disk's data, and reserving them
	// first would make a load need many times the memory it ends up using.
	gc := mvcc.GCFilter{SafePoint: job.SafePoint}
	var pendingBytes int64
	n := 0
	err := job.Snapshot.Reader().Versions(r.Start, r.End, func(key []byte, ts uint64, value []byte, tomb bool) error {
		n++
		if gc.Keep(key, ts, tomb) {
			size, err := b.Add(key, ts, value, tomb)
			if err != nil {
				return err
			}
			pendingBytes += size
		}
		if n%copyCheckEvery == 0 {
			if err := l.d.Plane.ReserveCopyBytes(pendingBytes); err != nil {
				return err
			}
			l.accounted += pendingBytes
			pendingBytes = 0
			if job.Canceled.Load() {
				return errAbandoned
			}
			if err := job.Ctx.Err(); err != nil {
				return err
			}
			// A copy is long and CPU-bound; on a small machine it must not
			// hold a processor while readers of other regions wait for one.
			runtime.Gosched()
		}
		return nil
	})
	if err == nil {
		if err = l.d.Plane.ReserveCopyBytes(pendingBytes); err == nil {
			l.accounted += pendingBytes
		}
	}
	if err != nil {
		return nil, 0, err
	}
	tree := b.Tree()
	if err := l.d.Failpoints.Eval(job.Ctx, failpoint.LoadAfterCopy); err != nil {
		return nil, 0, err
	}
	return tree, n, nil
}

func (l *loader) finish(c actor.Context, tree *memstore.Tree, keys int, err error) {
	job := l.job
	l.job = nil
	job.Snapshot.Close()
	done := &messages.CopyDone{Gen: job.Inc.Gen, Tree: tree, Accounted: l.accounted, Keys: keys, Err: err}
	switch {
	case err == nil:
		done.Result = lifecycle.CopyComplete
	case errors.Is(err, errAbandoned):
		done.Result = lifecycle.CopyAbandoned
	default:
		done.Result = lifecycle.CopyFailed
		l.d.Log.Warn().Err(err).Uint64("region", job.Inc.Region.ID).Uint64("gen", job.Inc.Gen).Msg("load failed")
	}
	l.accounted = 0
	c.Send(job.Region, done)
	c.Send(l.pool, &messages.LoaderIdle{Worker: c.Self()})
}
