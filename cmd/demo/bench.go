package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/regioncache/regioncache/internal/benchmarks"
)

const benchUsage = `Usage: demo bench [--quick] [--json]

Measures the engine against the disk engine (Pebble) alone, on the same data
in the same process, and prints each figure with its target. Absolute times
on a shared machine are noise; the ratios are what to read.

Flags:
`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "scale the data down so that the run takes well under a minute")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "demo bench: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if !*asJSON {
		fmt.Fprintln(stderr, "demo bench: measuring; this takes a while (--quick for a short run)")
	}
	rep, err := benchmarks.Run(ctx, benchmarks.Options{Quick: *quick})
	if rep == nil {
		fmt.Fprintf(stderr, "demo bench: %v\n", err)
		return exitFailed
	}
	if *asJSON {
		if werr := rep.WriteJSON(stdout); werr != nil {
			fmt.Fprintf(stderr, "demo bench: %v\n", werr)
			return exitFailed
		}
	} else {
		rep.WriteTable(stdout)
	}
	if err != nil {
		// Some figures could not be measured; the report says which.
		fmt.Fprintf(stderr, "demo bench: %v\n", err)
		return exitFailed
	}
	return exitOK
}
