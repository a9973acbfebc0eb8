// Command demo is how a person meets regioncache: it replays event logs
// against a real engine and shows, region by region, what happened and why.
//
//	demo                          replay the bundled seed incident
//	demo replay [flags] FILE...   replay event logs ("-": standard input)
//	demo bench [--quick] [--json] measure the engine
//
// The event log format is a public contract, specified in
// docs/event-log.md (version 1.1). Exit status: 0 when every expectation held, 1
// when any failed, 2 when the input could not be used.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses.
const (
	exitOK     = 0 // every expectation held
	exitFailed = 1 // an expectation failed (or the run was interrupted)
	exitUsage  = 2 // the input could not be used
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runContext(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command: what main does, minus the process.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdin, stdout, stderr)
}

func runContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return runDefault(ctx, stdout, stderr)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "replay":
		return runReplay(ctx, rest, stdin, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			switch rest[0] {
			case "replay":
				return runReplay(ctx, []string{"--help"}, stdin, stdout, stderr)
			case "bench":
				return runBench(ctx, []string{"--help"}, stdout, stderr)
			case "serve":
				return runServe(ctx, []string{"--help"}, stdout, stderr)
			}
		}
		fmt.Fprint(stdout, mainUsage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "demo: unknown command %q\n\n%s", cmd, mainUsage)
		return exitUsage
	}
}

const mainUsage = `demo replays event logs against a real regioncache engine and shows, region
by region, what happened and why.

Usage:
  demo                           replay the bundled seed incident
  demo replay [flags] FILE...    replay event logs ("-" reads standard input)
  demo bench [--quick] [--json]  measure the engine against Pebble alone
  demo serve [--addr A] [LOG]    watch an engine live: /debug/ and /metrics
  demo help [replay|bench|serve] explain a command

An event log is JSON Lines, one op per line, run in file order:

  # Lines starting with # or // are comments.
  {"op": "put", "key": "a", "ts": 10, "value": "apple"}
  {"op": "load", "region": {"id": 1, "version": 1, "start": "a", "end": "m"}}
  {"op": "wait", "until": "idle"}
  {"op": "expect", "region": 1, "state": "active"}
  {"op": "get", "key": "a", "ts": 20, "expect": "apple", "source": "memory"}

The whole file is checked before anything runs. "demo help replay" lists every
op; the format (version 1.1) is specified in docs/event-log.md, and the
examples/ directory holds logs that teach the engine.

Exit status: 0 when every expectation held, 1 when any failed, 2 when the
input could not be used.
`
