// Command demo is how a person meets regioncache: it replays event logs
// against a real engine and shows, region by region, what happened and why.
//
//	demo                          replay the bundled seed incident
//	demo replay [flags] FILE...   replay event logs ("-": standard input)
//	demo serve [flags] [LOG]      watch an engine live over HTTP
//	demo bench [flags]            measure the engine
//	demo workload [flags]         a skewed MVCC workload, both sides
//	demo version                  the module version and VCS revision
//
// The event log format is a public contract, specified in
// docs/event-log.md (version 1.1). Exit status: 0 when every expectation held, 1
// when any failed, 2 when the input could not be used.
//
// Each subcommand lives in its own file and registers itself with
// registerCommand; help and dispatch come from that table.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Exit statuses.
const (
	exitOK     = 0 // every expectation held
	exitFailed = 1 // an expectation failed (or the run was interrupted)
	exitUsage  = 2 // the input could not be used
)

// command is one subcommand of demo.
type command struct {
	name string
	// synopsis is the command's line in the main usage, after "demo ".
	synopsis string
	// order places the command in the main usage.
	order int
	run   func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

// registerCommand adds a subcommand; each command's file calls it from init.
func registerCommand(c command) {
	if _, dup := commands[c.name]; dup {
		panic("demo: command " + c.name + " registered twice") // a programming error, caught by any test
	}
	commands[c.name] = c
}

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
	name, rest := args[0], args[1:]
	if c, ok := commands[name]; ok {
		return c.run(ctx, rest, stdin, stdout, stderr)
	}
	switch name {
	case "-version", "--version":
		return commands["version"].run(ctx, rest, stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			fmt.Fprint(stdout, mainUsage())
			return exitOK
		}
		if c, ok := commands[rest[0]]; ok && len(rest) == 1 {
			return c.run(ctx, []string{"--help"}, stdin, stdout, stderr)
		}
		fmt.Fprintf(stderr, "demo help: no help on %q; topics: %s\n", strings.Join(rest, " "), strings.Join(commandNames(), ", "))
		return exitUsage
	}
	if strings.HasPrefix(name, "-") {
		// As the flag package does: the error, then the usage, on stderr.
		fmt.Fprintf(stderr, "demo: flag provided but not defined: %s (demo itself takes only --help and --version; a command's flags go after it, as in demo replay --json FILE)\n\n", name)
		fmt.Fprint(stderr, mainUsage())
		return exitUsage
	}
	fmt.Fprintf(stderr, "demo: unknown command %q; commands: %s (demo help explains them)\n", name, strings.Join(commandNames(), ", "))
	return exitUsage
}

func sortedCommands() []command {
	cs := make([]command, 0, len(commands))
	for _, c := range commands {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].order != cs[j].order {
			return cs[i].order < cs[j].order
		}
		return cs[i].name < cs[j].name
	})
	return cs
}

func commandNames() []string {
	var names []string
	for _, c := range sortedCommands() {
		names = append(names, c.name)
	}
	return names
}

// mainUsage is what demo --help prints.
func mainUsage() string {
	var b strings.Builder
	b.WriteString(`demo replays event logs against a real regioncache engine and shows, region
by region, what happened and why.

Usage:
`)
	type row struct{ syn, what string }
	rows := []row{{"", "replay the bundled seed incident"}}
	for _, c := range sortedCommands() {
		syn, what, _ := strings.Cut(c.synopsis, "\t")
		rows = append(rows, row{syn, what})
	}
	rows = append(rows, row{"help [" + strings.Join(commandNames(), "|") + "]", "explain a command"})
	width := 0
	for _, r := range rows {
		width = max(width, len(r.syn))
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "  %s\n", strings.TrimRight(fmt.Sprintf("%-*s  %s", width+len("demo "), strings.TrimSpace("demo "+r.syn), r.what), " "))
	}
	b.WriteString(mainUsageTail)
	return b.String()
}

const mainUsageTail = `
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

// libraryPrefix begins every error the library returns.
const libraryPrefix = "regioncache: "

// plain is an error of the library as the demo prints it, after its own
// prefix ("demo replay: ...") or a file position (FILE:LINE: ...), which
// already say where the message comes from: without "regioncache: "
// wherever it begins a part of the message, so that each message says its
// prefix once.
func plain(err error) string { return plainText(err.Error()) }

// plainText is plain for a message already formatted.
func plainText(s string) string {
	return strings.ReplaceAll(strings.TrimPrefix(s, libraryPrefix), ": "+libraryPrefix, ": ")
}

// newFlagSet returns the flag set of a subcommand. The flag package prints
// a usage error itself; parseFlags adds a pointer to --help, and prints the
// usage once, on stdout, when it is asked for.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// parseFlags prints a flag error itself, after the command's name, as
	// every other error of the demo; the help goes to stdout.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // the flag package would call it for -help too
	return fs
}

// parseFlags parses args with fs (through parse, when given, for commands
// that take flags among their arguments). done is true when the command must
// stop with code: help was printed on stdout (0), or the flags were wrong (2).
func parseFlags(fs *flag.FlagSet, usage string, args []string, stdout, stderr io.Writer,
	parse func(*flag.FlagSet, []string) ([]string, error)) (rest []string, code int, done bool) {
	if parse == nil {
		parse = func(fs *flag.FlagSet, args []string) ([]string, error) {
			err := fs.Parse(args)
			return fs.Args(), err
		}
	}
	rest, err := parse(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		return nil, exitOK, true
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", fs.Name(), err, fs.Name())
		return nil, exitUsage, true
	}
	return rest, exitOK, false
}
