package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/config"
	"github.com/regioncache/regioncache/debughttp"
	"github.com/regioncache/regioncache/eventlog"
	"github.com/regioncache/regioncache/replay"
)

const serveUsage = `Usage: demo serve [--addr ADDR] [--config FILE] [LOG]

Runs an engine with its debug endpoint at /debug/ (regions, stats) and its
Prometheus metrics at /metrics, until interrupted (Ctrl-C, SIGTERM). With
LOG, the engine replays that event log first and stays on show afterwards.

Flags:
`

func init() {
	registerCommand(command{name: "serve", order: 20, run: runServe,
		synopsis: "serve [--addr A] [--config F] [LOG]\twatch an engine live: /debug/ and /metrics"})
}

// runServe is `demo serve`.
func runServe(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo serve")
	addr := fs.String("addr", "127.0.0.1:7070", "listen on `ADDR`")
	cfgFile := fs.String("config", "", "engine options from `FILE` (.json or .toml; without LOG)")
	rest, code, done := parseFlags(fs, serveUsage, args, stdout, stderr, nil)
	if done {
		return code
	}
	switch {
	case len(rest) > 1:
		fmt.Fprintf(stderr, "demo serve: one LOG at most, got %d (%s); replay several with demo replay\n", len(rest), strings.Join(rest, ", "))
		return exitUsage
	case len(rest) == 1 && *cfgFile != "":
		fmt.Fprintf(stderr, "demo serve: --config and LOG cannot be combined: a log configures its engine with its config op\n")
		return exitUsage
	}
	var log *eventlog.Log
	if len(rest) == 1 {
		var err error
		if log, err = eventlog.ParseFile(rest[0]); err == nil {
			if cerr := replay.CheckConfig(log.Config); cerr != nil {
				err = &eventlog.ParseError{File: log.Name, Line: log.ConfigLine, Msg: "config: " + plain(cerr)}
			}
		}
		if err != nil {
			return inputError(stderr, "demo serve", err)
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "demo serve:", plain(err))
		return exitUsage
	}
	reg := prometheus.NewRegistry()
	served := make(chan error, 1)
	serve := func(e *regioncache.Engine) {
		fmt.Fprintf(stdout, "serving http://%s/debug/regions, /debug/stats and /metrics (Ctrl-C stops)\n", ln.Addr())
		go func() { served <- debughttp.ServeListener(ctx, ln, e, reg) }()
	}
	if log == nil {
		opts := regioncache.Options{}
		if *cfgFile != "" {
			if opts, err = config.Load(*cfgFile); err != nil {
				ln.Close()
				// A problem in the file is FILE:LINE: what is wrong, as in
				// an event log.
				fmt.Fprintln(stderr, strings.TrimPrefix(plain(err), "config: "))
				return exitUsage
			}
		}
		opts.Registerer = reg
		e, err := regioncache.Open(opts)
		if err != nil {
			ln.Close()
			fmt.Fprintln(stderr, "demo serve:", plain(err))
			return exitUsage
		}
		serve(e)
		<-ctx.Done()
		err = <-served
		if cerr := e.Close(); err == nil {
			err = cerr
		}
		return serveExit(err, stderr)
	}
	res, err := replay.Run(ctx, log, replay.Options{
		Registerer: reg,
		Observer: replay.Observer{Failure: func(f replay.Failure) {
			fmt.Fprintf(stdout, "%s:%d: %s\n", log.Name, f.Line, plainText(f.Message)) // as replay prints it
		}},
		OnOpen: serve,
		BeforeClose: func() {
			fmt.Fprintln(stdout, "replay finished; the engine stays on show until interrupted")
			<-ctx.Done()
		},
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "demo serve:", plain(err))
		ln.Close()
		return exitUsage
	}
	if serr := serveExit(<-served, stderr); serr != exitOK {
		return serr
	}
	fmt.Fprintf(stdout, "%s, %s, %d failed\n", count(res.Events, "op"), count(res.Expectations, "expectation"), res.Failed)
	if res.Failed > 0 {
		return exitFailed
	}
	return exitOK
}

func serveExit(err error, stderr io.Writer) int {
	if err != nil {
		fmt.Fprintln(stderr, "demo serve:", plain(err))
		return exitFailed
	}
	return exitOK
}
