// Package actorlog connects the actor runtime to the engine's logging: a
// log/slog handler that writes into zerolog (protoactor logs through slog),
// and a receiver middleware that logs an actor's panic with its stack and
// answers the caller waiting on the failed request before the runtime's
// supervisor handles the panic.
package actorlog

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache/messages"
)

// SlogHandler writes slog records into a zerolog logger.
type SlogHandler struct {
	log   zerolog.Logger
	attrs []slog.Attr
	group string
}

// NewSlogHandler returns a handler writing into log.
func NewSlogHandler(log zerolog.Logger) *SlogHandler { return &SlogHandler{log: log} }

func zerologLevel(l slog.Level) zerolog.Level {
	switch {
	case l >= slog.LevelError:
		return zerolog.ErrorLevel
	case l >= slog.LevelWarn:
		return zerolog.WarnLevel
	case l >= slog.LevelInfo:
		return zerolog.InfoLevel
	default:
		return zerolog.DebugLevel
	}
}

// Enabled reports whether the zerolog logger writes at this level.
func (h *SlogHandler) Enabled(_ context.Context, l slog.Level) bool {
	lvl := zerologLevel(l)
	return lvl >= h.log.GetLevel() && lvl >= zerolog.GlobalLevel()
}

// Handle writes one record.
func (h *SlogHandler) Handle(_ context.Context, r slog.Record) error {
	ev := h.log.WithLevel(zerologLevel(r.Level))
	add := func(a slog.Attr) bool {
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		ev = ev.Interface(key, a.Value.Resolve().Any())
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	ev.Msg(r.Message)
	return nil
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *SlogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	return &n
}

// WithGroup returns a handler that prefixes keys with name.
func (h *SlogHandler) WithGroup(name string) slog.Handler {
	n := *h
	if n.group != "" {
		name = n.group + "." + name
	}
	n.group = name
	return &n
}

// NewActorSystem returns an actor system that logs into log and does not
// log dead letters of requests (replies to callers that gave up are normal).
func NewActorSystem(log zerolog.Logger) *actor.ActorSystem {
	return actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(NewSlogHandler(log.With().Str("lib", "protoactor").Logger()))
		}),
		actor.WithDeadLetterRequestLogging(false),
	)
}

// PanicGuard is receiver middleware: when the actor panics it logs the panic
// with its stack, answers a waiting caller with an error (if the message is
// messages.Failable) and re-panics so supervision applies as usual. Actors
// that exist by the million guard their Receive with Panicked instead:
// middleware costs every actor a context extension block.
func PanicGuard(log zerolog.Logger) actor.ReceiverMiddleware {
	return func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			defer func() {
				if r := recover(); r != nil {
					Panicked(log, c.Self(), env.Message, r)
					panic(r)
				}
			}()
			next(c, env)
		}
	}
}

// Panicked is what PanicGuard does with a recovered panic r, for an actor
// that recovers in its own Receive: it logs the panic with its stack and
// answers a waiting caller with an error (if msg is messages.Failable). The
// caller re-panics so supervision applies as usual.
func Panicked(log zerolog.Logger, self *actor.PID, msg any, r any) {
	log.Error().Str("actor", self.GetId()).Str("message", fmt.Sprintf("%T", msg)).
		Str("panic", fmt.Sprint(r)).Str("stack", string(debug.Stack())).Msg("actor panicked")
	if f, ok := msg.(messages.Failable); ok {
		f.Fail(fmt.Errorf("regioncache: actor panicked handling %T: %v", msg, r))
	}
}

// ResumeOnPanic is a supervision strategy for actors whose state must
// survive a panic: the failing message is dropped and the actor goes on.
func ResumeOnPanic() actor.SupervisorStrategy {
	return actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.ResumeDirective })
}
