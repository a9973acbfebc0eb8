package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache/eventlog"
	"github.com/regioncache/regioncache/examples"
	"github.com/regioncache/regioncache/replay"
)

const replayUsage = `Usage: demo replay [flags] FILE|DIR...

Replays each event log against a fresh engine and prints, by default, one row
per region state change, one per notable load outcome (deduplicated,
rejected), one per failed expectation as FILE:LINE: message, and a summary.
A DIR stands for the *.jsonl files in it, in name order; FILE "-" reads
standard input. Every file is read and checked before anything runs: a
malformed file changes nothing and exits 2 with FILE:LINE: what is wrong.
Limits: a line may be at most 1 MiB; standard input at most 64 MiB (a file
has no cap). Exit status: 0 when every expectation held, 1 when any failed.

An event log is JSON Lines: one op a line, with an optional "at" (RFC 3339
time); # and // lines are comments. The ops (docs/event-log.md has the full
format, version 1.1):

  config     capacity, evict_threshold, stop_load_threshold, loaders  (first)
  put        key, ts, value            write one version
  delete     key, ts                   write a delete marker
  batch      ops: [put/delete, ...]    one atomic write
  load       region                    ask for the region to be cached
  evict      region, reason?           drop it from memory ("manual", ...)
  split      region, into              the host split a region
  merge      regions, into             the host merged regions
  get        key, ts, snapshot?, expect?, source?   (expect null: not found)
  scan       start, end, ts, limit?, snapshot?, expect? ([[k, v], ...]), source?
             (get and scan through a snapshot need no ts: the snapshot's)
  snapshot   name, region, ts, source?  take and hold a read snapshot
  release    name                      drop a held snapshot
  gc         safe_point                raise the GC safe point
  failpoint  name, action              load/before-copy, load/after-copy,
                                       evict/before-delete: pause, resume,
                                       error, panic, delay:DURATION, off
                                       (any new action releases the work
                                       paused there, which goes on as if the
                                       point were off; the action applies to
                                       what reaches it next; resume leaves it
                                       off)
  wait       until: "idle", or region and state, or failpoint and count?
             (default 1: that many paused there); timeout? (default "10s")
  expect     region and state | counter and value | memory_at_most
  check                                compare cached data with the disk engine
  sleep      for                       pause the replay

Values: a key is a string ("0x7A7480" is hex); a region is {"id": 1,
"version": 1, "start": "a", "end": "m"} (end "" is unbounded); sizes are
bytes or "64MiB"; durations are Go's ("10ms"). States: pending, loading,
active, loading_canceled, pending_evict, evicting, absent. Source: memory or
disk.

Flags:
`

// replayFlags are the settings of one `demo replay`.
type replayFlags struct {
	json     bool
	realtime bool
	speed    float64
	dataDir  string
	quiet    bool
	verbose  bool
	logLevel string
	timeline string
}

func init() {
	registerCommand(command{name: "replay", order: 10, run: runReplay,
		synopsis: "replay [flags] FILE|DIR...\treplay event logs (\"-\" reads standard input)"})
}

func newReplayFlagSet(f *replayFlags) *flag.FlagSet {
	fs := newFlagSet("demo replay")
	fs.BoolVar(&f.json, "json", false, "print one JSON object per log instead of the table")
	fs.BoolVar(&f.realtime, "realtime", false, `wait out the gaps between consecutive "at" times`)
	fs.Float64Var(&f.speed, "speed", 0, `like --realtime, N times faster (0.5: half speed)`)
	fs.StringVar(&f.dataDir, "data", "", "keep Pebble on disk in `DIR` (must be empty) instead of in memory")
	fs.BoolVar(&f.quiet, "quiet", false, "print only failures and the summary")
	fs.BoolVar(&f.verbose, "verbose", false, "also print every op and what it did (reads with their source)")
	fs.StringVar(&f.logLevel, "log-level", "off", "engine log `level` on standard error: off, error, warn, info, debug, trace")
	fs.StringVar(&f.timeline, "timeline", "", "draw the run into `FILE`.svg, or FILE.html (the SVG with a legend)")
	return fs
}

// parseInterspersed parses flags wherever they are among the files, as in
// `demo replay a.jsonl --json`; after "--" everything is a file.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return files, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(files, rest...), nil
		}
		files, args = append(files, rest[0]), rest[1:]
	}
}

// stdinName names standard input in messages (FILE:LINE).
const stdinName = "<stdin>"

// input is one log to replay. It is read twice: once to the end by check,
// so that a malformed log runs nothing, then again as it runs.
type input struct {
	name  string // as the user named it, for FILE:LINE
	open  func() (io.ReadCloser, error)
	log   *eventlog.Log // what the check learnt: config, leading comments; no ops
	ops   int
	hasAt bool
}

// check reads the log to its end, checking every line.
func (in *input) check(r io.Reader) error {
	rd := eventlog.NewReader(in.name, r)
	for {
		op, err := rd.Next()
		if err == io.EOF {
			in.log = rd.Log()
			// A config the engine refuses (a threshold above the capacity)
			// is the log's problem, at its config line, found before
			// anything runs.
			if err := replay.CheckConfig(in.log.Config); err != nil {
				return &eventlog.ParseError{File: in.name, Line: in.log.ConfigLine, Msg: "config: " + plain(err)}
			}
			return nil
		}
		if err != nil {
			return err
		}
		in.ops++
		in.hasAt = in.hasAt || op.HasAt
	}
}

// inputError reports a log that cannot be used and returns exit 2: a
// problem at a line as FILE:LINE: what is wrong, any other as cmd: error.
func inputError(stderr io.Writer, cmd string, err error) int {
	var perr *eventlog.ParseError
	if errors.As(err, &perr) {
		fmt.Fprintln(stderr, plainText(perr.Position()))
	} else {
		fmt.Fprintf(stderr, "%s: %s\n", cmd, plain(err))
	}
	return exitUsage
}

func runReplay(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var f replayFlags
	fs := newReplayFlagSet(&f)
	files, code, done := parseFlags(fs, replayUsage, args, stdout, stderr, parseInterspersed)
	if done {
		return code
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "demo replay: "+format+"\n", a...)
		return exitUsage
	}
	if len(files) == 0 {
		return usage("no FILE given (see demo replay --help)")
	}
	speedSet := false
	fs.Visit(func(fl *flag.Flag) { speedSet = speedSet || fl.Name == "speed" })
	if speedSet {
		if err := replay.CheckSpeed(f.speed); err != nil {
			return usage("--speed %g: want a number from %g to %g (times the recorded pace)", f.speed, replay.MinSpeed, replay.MaxSpeed)
		}
	}
	if f.quiet && f.verbose {
		return usage("--quiet and --verbose cannot be combined")
	}
	logger, err := engineLogger(f.logLevel, stderr)
	if err != nil {
		return usage("%s", plain(err))
	}
	var timelineWriter func(io.Writer, ...*replay.Result) error
	if f.timeline != "" {
		switch strings.ToLower(filepath.Ext(f.timeline)) {
		case ".svg":
			timelineWriter = replay.WriteTimelineSVG
		case ".html", ".htm":
			timelineWriter = replay.WriteTimelineHTML
		default:
			return usage("--timeline %s: want a .svg or .html file", f.timeline)
		}
	}

	files, err = expandDirs(files)
	if err != nil {
		return usage("%s", plain(err))
	}
	// Read and check every file before anything runs; the replay reads it
	// again as it runs, so that no log is ever held in memory whole.
	inputs := make([]input, 0, len(files))
	stdinUsed := false
	for _, name := range files {
		in := input{name: name}
		if name == "-" {
			if stdinUsed {
				return usage(`"-" (standard input) given twice`)
			}
			stdinUsed = true
			in.name = stdinName
			spool, err := os.CreateTemp("", "demo-stdin-*.jsonl")
			if err != nil {
				return usage("standard input: %s", plain(err))
			}
			defer os.Remove(spool.Name())
			err = in.check(io.TeeReader(&cappedReader{r: stdin, left: stdinLimit}, spool))
			if cerr := spool.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("%s: %w", stdinName, cerr)
			}
			if errors.Is(err, errStdinTooLarge) {
				return usage("%s: more than %s on standard input, the limit; give the log as a file instead", stdinName, eventlog.FormatSize(uint64(stdinLimit)))
			}
			if err != nil {
				return inputError(stderr, "demo replay", err)
			}
			path := spool.Name()
			in.open = func() (io.ReadCloser, error) { return os.Open(path) }
		} else {
			in.open = func() (io.ReadCloser, error) { return os.Open(name) }
			rc, err := in.open()
			if err != nil {
				return usage("%s", plain(err))
			}
			err = in.check(rc)
			rc.Close()
			if err != nil {
				return inputError(stderr, "demo replay", err)
			}
		}
		inputs = append(inputs, in)
	}
	if f.realtime || f.speed > 0 {
		for _, in := range inputs {
			if !in.hasAt && in.ops > 0 {
				fmt.Fprintf(stderr, "demo replay: %s: no op has an \"at\" time, so --realtime has nothing to pace; it runs at full speed\n", in.name)
			}
		}
	}
	dataDirs, err := dataDirs(f.dataDir, files)
	if err != nil {
		return usage("%s", plain(err))
	}
	var timelineFile *os.File
	if timelineWriter != nil {
		if timelineFile, err = os.Create(f.timeline); err != nil {
			return usage("--timeline: %s", plain(err))
		}
		defer timelineFile.Close()
	}

	opts := runOptions{flags: f, logger: logger, records: timelineWriter != nil}
	results, code := replayAll(ctx, inputs, dataDirs, opts, stdout, stderr)
	if timelineWriter != nil && len(results) > 0 {
		err := timelineWriter(timelineFile, results...)
		if cerr := timelineFile.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fmt.Fprintf(stderr, "demo replay: --timeline: %s\n", plain(err))
			return exitUsage
		}
		if !f.json && !f.quiet {
			fmt.Fprintf(stdout, "timeline: %s\n", f.timeline)
		}
	}
	return code
}

// maxStdinBytes caps standard input: a file has a size to judge before it is
// given, a pipe does not, and its ops are held in memory until the replay
// ends. Above the cap the replay refuses to start (exit 2).
const maxStdinBytes = 64 << 20

// stdinLimit is maxStdinBytes; tests lower it to check the cap quickly.
var stdinLimit int64 = maxStdinBytes

var errStdinTooLarge = errors.New("standard input is over its size limit")

// cappedReader reads at most left bytes from r, then fails with
// errStdinTooLarge if there is more.
type cappedReader struct {
	r    io.Reader
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more decides between "exactly at the cap" and "over it".
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, errStdinTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// expandDirs replaces each directory among files by the *.jsonl files in it,
// in name order.
func expandDirs(files []string) ([]string, error) {
	var out []string
	for _, name := range files {
		if name == "-" {
			out = append(out, name)
			continue
		}
		st, err := os.Stat(name)
		if err != nil || !st.IsDir() {
			out = append(out, name) // reading it says what is wrong
			continue
		}
		logs, err := filepath.Glob(filepath.Join(name, "*.jsonl"))
		if err != nil {
			return nil, err
		}
		if len(logs) == 0 {
			return nil, fmt.Errorf("%s: a directory with no *.jsonl file in it", name)
		}
		sort.Strings(logs)
		out = append(out, logs...)
	}
	return out, nil
}

// runOptions are what replayAll needs besides the logs.
type runOptions struct {
	flags   replayFlags
	logger  *zerolog.Logger
	banner  string // printed before the first log (the bare demo's story)
	records bool   // keep every op's record: the timeline draws them
	details bool   // print counters and regions after each summary
}

// replayAll runs the inputs in order, each against its own engine, and prints
// them. It returns what ran and the exit status.
func replayAll(ctx context.Context, inputs []input, dirs []string, o runOptions, stdout, stderr io.Writer) ([]*replay.Result, int) {
	f := o.flags
	total := 0
	for _, in := range inputs {
		total += in.ops
	}
	bar := newProgress(stdout, stderr, total, f.json)
	var results []*replay.Result
	code := exitOK
	passed := 0
	for i, in := range inputs {
		p := &printer{w: stdout, file: in.name, verbose: f.verbose, quiet: f.quiet, clock: in.hasAt, progress: bar}
		obs := replay.Observer{}
		if !f.json {
			obs = p.observer()
			if i > 0 && !f.quiet {
				fmt.Fprintln(stdout)
			}
			if i == 0 && o.banner != "" {
				fmt.Fprintln(stdout, o.banner)
			}
			if !f.quiet {
				fmt.Fprintln(stdout, describeRun(in, dirs[i]))
				fmt.Fprintln(stdout)
				p.printHeader()
			}
		}
		if bar != nil {
			name := filepath.Base(in.name)
			obs.OpDone = chain(obs.OpDone, func(int, eventlog.Op, replay.OpRecord) { bar.step(name) })
		}
		rc, err := in.open()
		if err != nil {
			fmt.Fprintf(stderr, "demo replay: %s\n", plain(err))
			return results, exitUsage
		}
		res, err := replay.RunSource(ctx, in.name, in.log.Config, eventlog.NewReader(in.name, rc), replay.Options{
			Realtime: f.realtime, Speed: f.speed, DataDir: dirs[i], Observer: obs, Logger: o.logger,
			NoOpRecords: !o.records,
		})
		rc.Close()
		p.flush()
		if bar != nil {
			bar.clear()
		}
		if err != nil {
			if ctx.Err() != nil && res != nil {
				fmt.Fprintf(stderr, "demo replay: %s: interrupted after %d of %d ops\n", in.name, res.Events, in.ops)
				return append(results, res), exitFailed
			}
			var perr *eventlog.ParseError
			if errors.As(err, &perr) {
				fmt.Fprintf(stderr, "%s (the file changed after it was checked)\n", plainText(perr.Position()))
				return results, exitUsage
			}
			fmt.Fprintf(stderr, "demo replay: %s: %s\n", in.name, plain(err))
			return results, exitUsage
		}
		results = append(results, res)
		if !res.OK() {
			code = exitFailed
		} else {
			passed++
		}
		if f.json {
			if err := json.NewEncoder(stdout).Encode(res); err != nil {
				fmt.Fprintf(stderr, "demo replay: %s\n", plain(err))
				return results, exitUsage
			}
			continue
		}
		if !f.quiet {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintln(stdout, summary(in.name, res))
		if o.details || f.verbose {
			for _, d := range details(res) {
				fmt.Fprintln(stdout, "      "+d)
			}
		}
	}
	if len(inputs) > 1 && !f.json {
		fmt.Fprintf(stdout, "\n%d logs: %d passed, %d failed\n", len(inputs), passed, len(inputs)-passed)
	}
	return results, code
}

func chain(a, b func(int, eventlog.Op, replay.OpRecord)) func(int, eventlog.Op, replay.OpRecord) {
	if a == nil {
		return b
	}
	return func(i int, op eventlog.Op, rec replay.OpRecord) { a(i, op, rec); b(i, op, rec) }
}

// describeRun is the line that opens a replay: what runs on what.
func describeRun(in input, dir string) string {
	c := in.log.Config
	var parts []string
	parts = append(parts, fmt.Sprintf("%d ops", in.ops))
	if dir == "" {
		parts = append(parts, "Pebble in memory")
	} else {
		parts = append(parts, "Pebble in "+dir)
	}
	if c.Loaders != 0 {
		parts = append(parts, plural(c.Loaders, "loader"))
	}
	if c.Capacity != 0 {
		parts = append(parts, "capacity "+eventlog.FormatSize(c.Capacity))
	}
	if c.EvictThreshold != 0 {
		parts = append(parts, "evict at "+eventlog.FormatSize(c.EvictThreshold))
	}
	if c.StopLoadThreshold != 0 {
		parts = append(parts, "stop loads at "+eventlog.FormatSize(c.StopLoadThreshold))
	}
	return fmt.Sprintf("replaying %s: %s", in.name, strings.Join(parts, ", "))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// dataDirs gives each log its own empty directory under dir: dir itself for
// one log, dir/N-NAME for several. A replay must start from an empty disk
// engine, or it would test something else than the log says.
func dataDirs(dir string, files []string) ([]string, error) {
	dirs := make([]string, len(files))
	if dir == "" {
		return dirs, nil
	}
	for i, f := range files {
		d := dir
		if len(files) > 1 {
			name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
			if f == "-" {
				name = "stdin"
			}
			d = filepath.Join(dir, fmt.Sprintf("%d-%s", i+1, name))
		}
		entries, err := os.ReadDir(d)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("--data: %v", err)
		case len(entries) > 0:
			return nil, fmt.Errorf("--data: %s is not empty; a replay starts from an empty disk engine", d)
		}
		dirs[i] = d
	}
	return dirs, nil
}

// engineLogger returns the engine's logger at level, writing to w; nil when
// the level is off.
func engineLogger(level string, w io.Writer) (*zerolog.Logger, error) {
	switch level {
	case "", "off", "none", "disabled":
		return nil, nil
	}
	l, err := zerolog.ParseLevel(level)
	if err != nil || l == zerolog.NoLevel {
		return nil, fmt.Errorf("--log-level %q: want off, error, warn, info, debug or trace", level)
	}
	out := zerolog.ConsoleWriter{Out: w, NoColor: !isTerminal(w), TimeFormat: "15:04:05.000"}
	logger := zerolog.New(out).Level(l).With().Timestamp().Logger()
	return &logger, nil
}

// runDefault is the bare `demo`: the seed incident, told in full.
func runDefault(ctx context.Context, stdout, stderr io.Writer) int {
	in := input{name: "examples/" + examples.Default, open: func() (io.ReadCloser, error) { return examples.FS.Open(examples.Default) }}
	rc, err := in.open()
	if err == nil {
		err = in.check(rc)
		rc.Close()
	}
	if err != nil {
		return inputError(stderr, "demo replay", err)
	}
	o := runOptions{flags: replayFlags{verbose: true}, banner: in.log.LeadingComment() + "\n", details: true}
	_, code := replayAll(ctx, []input{in}, []string{""}, o, stdout, stderr)
	fmt.Fprintln(stdout, "\nNext: demo replay --timeline run.html examples/ (every example, drawn into run.html), or demo --help.")
	return code
}
