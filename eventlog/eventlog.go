package eventlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/lifecycle"
)

// ParseError is the first problem found in an input. Error() is
// "regioncache: eventlog: FILE:LINE: Msg"; Position() is "FILE:LINE: Msg",
// the form the replay prints before exiting 2.
type ParseError struct {
	File string // the name given to ParseNamed; "-" for Parse
	Line int    // 1-based
	Msg  string
}

func (e *ParseError) Error() string { return ErrorPrefix + e.Position() }

// Position is the error as a command line tool prints it: "FILE:LINE: Msg"
// ("LINE: Msg" without a file name).
func (e *ParseError) Position() string {
	if e.File == "" {
		return strconv.Itoa(e.Line) + ": " + e.Msg
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
}

// Log is a parsed, checked event log.
type Log struct {
	Name     string
	Ops      []Op      // in file order
	Comments []Comment // "#" and "//" lines, in file order; blank lines are not kept
	// Config merges every config op in order (a field set twice takes the
	// later value); zero fields were never set.
	Config Config
	// ConfigLine is the line of the last config op (0: none), where a
	// Config the engine refuses is reported.
	ConfigLine int
}

// Op is one op line.
type Op struct {
	Line    int
	Text    string    // the line as written, without its line ending
	At      time.Time // valid only when HasAt
	HasAt   bool
	Payload Payload
}

// Kind returns the op's kind.
func (o Op) Kind() Kind { return o.Payload.Kind() }

// String summarises the op for a timeline.
func (o Op) String() string { return o.Payload.String() }

// Comment is a comment line.
type Comment struct {
	Line int
	// Text is the comment without its marker and the one space after it,
	// which is how a reader would quote it.
	Text string
}

// LeadingComment returns the comments that come before the first op, one per
// line (a blank line between them is kept as an empty line), which is where
// an example log explains itself.
func (l *Log) LeadingComment() string {
	first := int(^uint(0) >> 1)
	if len(l.Ops) > 0 {
		first = l.Ops[0].Line
	}
	var lines []string
	prev := 0
	for _, c := range l.Comments {
		if c.Line > first {
			break
		}
		if prev != 0 && c.Line > prev+1 {
			lines = append(lines, "")
		}
		lines = append(lines, c.Text)
		prev = c.Line
	}
	return strings.Join(lines, "\n")
}

// Parse reads and checks a whole event log, naming it "-" (standard input)
// in errors.
func Parse(r io.Reader) (*Log, error) { return ParseNamed("-", r) }

// ParseFile reads and checks the event log in the file at path.
func ParseFile(path string) (*Log, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseNamed(path, f)
}

// MaxLineBytes is the longest line an event log may have, line ending
// excluded: 1 MiB. A longer line is refused as FILE:LINE without reading
// further, so that a runaway input (/dev/zero, a binary file) cannot take
// the reader's memory with it.
const MaxLineBytes = 1 << 20

// ParseNamed reads and checks a whole event log, using name in errors. The
// input is read a line at a time (see Reader): memory holds the decoded ops
// (and each op's line as written), never the whole input at once. Problems
// with the content are returned as *ParseError; a failure to read r is
// returned wrapped, as it belongs to no line.
func ParseNamed(name string, r io.Reader) (*Log, error) {
	rd := NewReader(name, r)
	rd.p.keepComments = true
	for {
		op, err := rd.Next()
		if err == io.EOF {
			return rd.p.log, nil
		}
		if err != nil {
			return nil, err
		}
		rd.p.log.Ops = append(rd.p.log.Ops, op)
	}
}

// Reader reads an event log one op at a time, with every check ParseNamed
// makes, and keeps none of the ops: memory stays the same however long the
// log. A replay that must not start on a malformed log reads it twice: once
// to the end to check it, then again to run it.
type Reader struct {
	p   *parser
	lr  lineReader
	n   int   // lines read
	err error // once Next has failed, it fails the same way
}

// NewReader returns a Reader of r, using name in errors.
func NewReader(name string, r io.Reader) *Reader {
	return &Reader{
		p: &parser{
			log:      &Log{Name: name, Ops: []Op{}},
			held:     map[string]int{},
			released: map[string]int{},
			paused:   map[string]int{},
			unpaused: map[string]int{},
		},
		lr: lineReader{r: bufio.NewReaderSize(r, 64<<10)},
	}
}

// Next returns the next op; io.EOF after the last. Problems with the content
// are *ParseError (FILE:LINE); a failure to read is returned wrapped.
func (rd *Reader) Next() (Op, error) {
	for rd.err == nil {
		rd.n++
		n := rd.n
		line, err := rd.lr.next()
		if errors.Is(err, errLineTooLong) {
			rd.err = &ParseError{File: rd.p.log.Name, Line: n, Msg: fmt.Sprintf("line is longer than %d bytes (1 MiB), the limit for one op", MaxLineBytes)}
			break
		}
		if err != nil && err != io.EOF {
			rd.err = fmt.Errorf("%sreading %s: %w", ErrorPrefix, rd.p.log.Name, err)
			break
		}
		if line == nil && err == io.EOF {
			rd.err = io.EOF
			break
		}
		if n == 1 {
			// RFC 8259 lets a parser ignore a byte order mark; editors on Windows add one.
			line = bytes.TrimPrefix(line, []byte("\uFEFF"))
		}
		op, isOp, perr := rd.p.line(n, line)
		if perr != nil {
			rd.err = &ParseError{File: rd.p.log.Name, Line: n, Msg: perr.Error()}
			break
		}
		if err == io.EOF {
			rd.err = io.EOF
		}
		if isOp {
			rd.p.ops++
			return op, nil
		}
	}
	return Op{}, rd.err
}

// Log returns what the reader knows of the log so far, without its ops:
// Name, Config (complete once the first op that is not config was read)
// and the comments before the first op (all of them from ParseNamed).
func (rd *Reader) Log() *Log {
	l := *rd.p.log
	l.Ops = nil
	return &l
}

// parser carries what the checks need from earlier lines.
type parser struct {
	log       *Log
	cur       int            // line being parsed
	firstOp   int            // line of the first op other than config; 0 before it
	firstKind Kind           // and its kind
	held      map[string]int // snapshot name -> line that took it
	released  map[string]int // snapshot name -> line that last released it
	// paused maps a failpoint set to pause to the line that set it; unpaused
	// maps one whose pause a later line replaced to that line. A wait on a
	// failpoint needs it paused: nothing else can ever be waiting there.
	paused   map[string]int
	unpaused map[string]int
	// ops counts the ops read; keepComments keeps every comment, not only
	// those before the first op (which LeadingComment needs).
	ops          int
	keepComments bool
}

var errLineTooLong = errors.New("line too long")

// lineReader splits its input into lines of at most MaxLineBytes.
type lineReader struct {
	r   *bufio.Reader
	buf []byte
}

// next returns the next line without its line ending ("\n" or "\r\n"),
// valid until the next call; io.EOF comes with the last line when the input
// does not end in "\n", or with a nil line at the end. It reads no more
// than MaxLineBytes and a line ending before it refuses a line.
func (l *lineReader) next() ([]byte, error) {
	l.buf = l.buf[:0]
	for {
		chunk, err := l.r.ReadSlice('\n')
		if len(l.buf)+len(chunk) > MaxLineBytes+2 {
			return nil, errLineTooLong
		}
		switch {
		case err == nil:
			if len(l.buf) == 0 {
				return l.check(chunk[:len(chunk)-1], nil)
			}
			l.buf = append(l.buf, chunk[:len(chunk)-1]...)
			return l.check(l.buf, nil)
		case errors.Is(err, bufio.ErrBufferFull):
			l.buf = append(l.buf, chunk...)
		case err == io.EOF:
			l.buf = append(l.buf, chunk...)
			if len(l.buf) == 0 {
				return nil, io.EOF
			}
			return l.check(l.buf, io.EOF)
		default:
			return nil, err
		}
	}
}

func (l *lineReader) check(line []byte, err error) ([]byte, error) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) > MaxLineBytes {
		return nil, errLineTooLong
	}
	return line, err
}

// line checks line n; isOp says whether it is an op (else a comment or blank).
func (p *parser) line(n int, line []byte) (op Op, isOp bool, err error) {
	p.cur = n
	if !utf8.Valid(line) {
		return Op{}, false, errors.New("line is not valid UTF-8")
	}
	trimmed := strings.Trim(string(line), " \t\r")
	switch {
	case trimmed == "":
		return Op{}, false, nil
	case strings.HasPrefix(trimmed, "#"), strings.HasPrefix(trimmed, "//"):
		if p.keepComments || p.ops == 0 {
			text := strings.TrimPrefix(strings.TrimPrefix(trimmed, "#"), "//")
			p.log.Comments = append(p.log.Comments, Comment{Line: n, Text: strings.TrimPrefix(text, " ")})
		}
		return Op{}, false, nil
	}
	op, err = p.op(line)
	if err != nil {
		return Op{}, false, err
	}
	op.Line = n
	op.Text = string(line)
	return op, true, nil
}

func (p *parser) op(line []byte) (Op, error) {
	var raw json.RawMessage
	if err := json.Unmarshal(line, &raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return Op{}, fmt.Errorf("invalid JSON at column %d: %s", se.Offset, se.Error())
		}
		return Op{}, fmt.Errorf("invalid JSON: %v", err)
	}
	if t := jsonType(raw); t != "object" {
		return Op{}, fmt.Errorf("want a JSON object, got a JSON %s", t)
	}
	o, err := decodeObject("", line)
	if err != nil {
		return Op{}, err
	}
	if o.dup == "op" {
		return Op{}, o.checkDup()
	}
	opName, err := o.needStr("op")
	if err != nil {
		return Op{}, err
	}
	kind, ok := ParseKind(opName)
	if !ok {
		return Op{}, fmt.Errorf("unknown op %q", opName)
	}
	// From here on every message names the op, as in "put: missing field".
	o.path = opName
	if err := o.checkDup(); err != nil {
		return Op{}, err
	}
	var op Op
	if at, ok, err := o.str("at"); err != nil {
		return Op{}, err
	} else if ok {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return Op{}, o.errorf(`field "at": bad time %q: want RFC 3339 such as "2024-09-05T06:49:46.858Z"`, at)
		}
		op.At, op.HasAt = t, true
	}
	if op.Payload, err = p.payload(kind, o); err != nil {
		return Op{}, err
	}
	return op, nil
}

// fields lists the fields each op may have besides "op" and "at".
var fields = map[Kind][]string{
	KindConfig:    {"capacity", "evict_threshold", "stop_load_threshold", "loaders"},
	KindPut:       {"key", "ts", "value"},
	KindDelete:    {"key", "ts"},
	KindBatch:     {"ops"},
	KindLoad:      {"region"},
	KindEvict:     {"region", "reason"},
	KindSplit:     {"region", "into"},
	KindMerge:     {"regions", "into"},
	KindGet:       {"key", "ts", "snapshot", "expect", "source"},
	KindScan:      {"start", "end", "ts", "limit", "snapshot", "expect", "source"},
	KindSnapshot:  {"name", "region", "ts", "source"},
	KindRelease:   {"name"},
	KindGC:        {"safe_point"},
	KindFailpoint: {"name", "action"},
	KindWait:      {"until", "region", "state", "failpoint", "count", "timeout"},
	KindExpect:    {"region", "state", "counter", "value", "memory_at_most"},
	KindCheck:     {},
	KindSleep:     {"for"},
}

func (p *parser) payload(kind Kind, o *object) (Payload, error) {
	if err := o.allow(append([]string{"op", "at"}, fields[kind]...)...); err != nil {
		return nil, err
	}
	if kind != KindConfig && p.firstOp == 0 {
		p.firstOp, p.firstKind = p.cur, kind
	}
	switch kind {
	case KindConfig:
		return p.config(o)
	case KindPut:
		return parsePut(o)
	case KindDelete:
		return parseDelete(o)
	case KindBatch:
		return parseBatch(o)
	case KindLoad:
		r, err := o.needRegion("region")
		return &Load{Region: r}, err
	case KindEvict:
		return parseEvict(o)
	case KindSplit:
		return parseSplit(o)
	case KindMerge:
		return parseMerge(o)
	case KindGet:
		return p.get(o)
	case KindScan:
		return p.scan(o)
	case KindSnapshot:
		return p.snapshot(o)
	case KindRelease:
		return p.release(o)
	case KindGC:
		sp, err := o.needUint("safe_point", true)
		return &GC{SafePoint: sp}, err
	case KindFailpoint:
		return p.failpoint(o)
	case KindWait:
		return p.wait(o)
	case KindExpect:
		return parseExpect(o)
	case KindCheck:
		return &Check{}, nil
	case KindSleep:
		d, err := o.needDuration("for")
		return &Sleep{For: d}, err
	}
	return nil, fmt.Errorf("unknown op %q", kind)
}

func (p *parser) config(o *object) (Payload, error) {
	var c Config
	var err error
	set := false
	for _, f := range []struct {
		name string
		dst  *uint64
	}{
		{"capacity", &c.Capacity},
		{"evict_threshold", &c.EvictThreshold},
		{"stop_load_threshold", &c.StopLoadThreshold},
	} {
		var ok bool
		if *f.dst, ok, err = o.size(f.name, true); err != nil {
			return nil, err
		}
		set = set || ok
	}
	loaders, ok, err := o.int("loaders")
	if err != nil {
		return nil, err
	}
	c.Loaders = loaders
	if !ok && !set {
		return nil, o.errorf("sets nothing: want any of capacity, evict_threshold, stop_load_threshold, loaders")
	}
	if p.firstOp != 0 {
		return nil, o.errorf("must come before every other op (line %d is %s)", p.firstOp, p.firstKind)
	}
	merged := &p.log.Config
	p.log.ConfigLine = p.cur
	if c.Capacity != 0 {
		merged.Capacity = c.Capacity
	}
	if c.EvictThreshold != 0 {
		merged.EvictThreshold = c.EvictThreshold
	}
	if c.StopLoadThreshold != 0 {
		merged.StopLoadThreshold = c.StopLoadThreshold
	}
	if c.Loaders != 0 {
		merged.Loaders = c.Loaders
	}
	return &c, nil
}

func parsePut(o *object) (*Put, error) {
	k, err := o.needKey("key")
	if err != nil {
		return nil, err
	}
	ts, err := o.needUint("ts", true)
	if err != nil {
		return nil, err
	}
	v, err := o.needStr("value")
	if err != nil {
		return nil, err
	}
	return &Put{Key: k, Ts: ts, Value: []byte(v)}, nil
}

func parseDelete(o *object) (*Delete, error) {
	k, err := o.needKey("key")
	if err != nil {
		return nil, err
	}
	ts, err := o.needUint("ts", true)
	if err != nil {
		return nil, err
	}
	return &Delete{Key: k, Ts: ts}, nil
}

func parseBatch(o *object) (*Batch, error) {
	elems, err := o.array("ops")
	if err != nil {
		return nil, err
	}
	if len(elems) == 0 {
		return nil, o.errorf(`field "ops" is empty`)
	}
	b := &Batch{Ops: make([]Mutation, len(elems))}
	for i, e := range elems {
		item, err := o.child(fmt.Sprintf("ops[%d]", i), e)
		if err != nil {
			return nil, err
		}
		if item.has("at") {
			return nil, item.errorf(`field "at" is not allowed in a batch item`)
		}
		name, err := item.needStr("op")
		if err != nil {
			return nil, err
		}
		switch name {
		case "put":
			if err := item.allow("op", "key", "ts", "value"); err != nil {
				return nil, err
			}
			put, err := parsePut(item)
			if err != nil {
				return nil, err
			}
			b.Ops[i] = put.Mutation()
		case "delete":
			if err := item.allow("op", "key", "ts"); err != nil {
				return nil, err
			}
			del, err := parseDelete(item)
			if err != nil {
				return nil, err
			}
			b.Ops[i] = del.Mutation()
		default:
			return nil, item.errorf(`op must be "put" or "delete", got %q`, name)
		}
	}
	return b, nil
}

func parseEvict(o *object) (*Evict, error) {
	r, err := o.needRegion("region")
	if err != nil {
		return nil, err
	}
	reason, ok, err := o.str("reason")
	if err != nil {
		return nil, err
	}
	if !ok {
		reason = DefaultEvictReason
	} else if !IsEvictReason(reason) {
		return nil, o.errorf("unknown reason %q", reason)
	}
	return &Evict{Region: r, Reason: reason}, nil
}

// byStart returns the regions sorted by start key, leaving rs alone so the
// payload keeps the file's order.
func byStart(rs []regioncache.Region) []regioncache.Region {
	s := slices.Clone(rs)
	slices.SortStableFunc(s, func(a, b regioncache.Region) int { return bytes.Compare(a.Start, b.Start) })
	return s
}

// contiguous checks that sorted regions leave no gap and do not overlap.
func contiguous(o *object, what string, sorted []regioncache.Region) error {
	for i := 0; i+1 < len(sorted); i++ {
		a, b := sorted[i], sorted[i+1]
		if !bytes.Equal(a.End, b.Start) || len(a.End) == 0 {
			return o.errorf("%s are not contiguous: %s ends at %s but %s starts at %s",
				what, a, fmtEnd(a.End), b, fmtKey(b.Start))
		}
	}
	return nil
}

func distinctIDs(o *object, field string, rs []regioncache.Region) error {
	seen := map[uint64]int{}
	for i, r := range rs {
		if j, dup := seen[r.ID]; dup {
			return o.errorf("%s[%d] and %s[%d] have the same id %d", field, j, field, i, r.ID)
		}
		seen[r.ID] = i
	}
	return nil
}

func parseSplit(o *object) (*Split, error) {
	src, err := o.needRegion("region")
	if err != nil {
		return nil, err
	}
	into, err := o.regionList("into")
	if err != nil {
		return nil, err
	}
	if len(into) < 2 {
		return nil, o.errorf(`field "into" must list at least 2 regions, got %d`, len(into))
	}
	if err := distinctIDs(o, "into", into); err != nil {
		return nil, err
	}
	keeps := 0
	for i, r := range into {
		if r.Version <= src.Version {
			return nil, o.errorf("into[%d]: version %d is not above the source's version %d", i, r.Version, src.Version)
		}
		if r.ID == src.ID {
			keeps++
		}
	}
	if keeps == 0 {
		return nil, o.errorf("no region in \"into\" keeps the source's id %d", src.ID)
	}
	sorted := byStart(into)
	if first := sorted[0]; !bytes.Equal(first.Start, src.Start) {
		return nil, o.errorf(`"into" does not partition the source: it starts at %s, the source at %s`,
			fmtKey(first.Start), fmtKey(src.Start))
	}
	if err := contiguous(o, `regions in "into"`, sorted); err != nil {
		return nil, err
	}
	if last := sorted[len(sorted)-1]; !bytes.Equal(last.End, src.End) {
		return nil, o.errorf(`"into" does not partition the source: it ends at %s, the source at %s`,
			fmtEnd(last.End), fmtEnd(src.End))
	}
	return &Split{Region: src, Into: into}, nil
}

func parseMerge(o *object) (*Merge, error) {
	regions, err := o.regionList("regions")
	if err != nil {
		return nil, err
	}
	if len(regions) < 2 {
		return nil, o.errorf(`field "regions" must list at least 2 regions, got %d`, len(regions))
	}
	if err := distinctIDs(o, "regions", regions); err != nil {
		return nil, err
	}
	into, err := o.needRegion("into")
	if err != nil {
		return nil, err
	}
	sorted := byStart(regions)
	if err := contiguous(o, `"regions"`, sorted); err != nil {
		return nil, err
	}
	isOne := false
	for _, r := range regions {
		if r.ID == into.ID {
			isOne = true
		}
		if into.Version <= r.Version {
			return nil, o.errorf("into: version %d is not above the version %d of %s", into.Version, r.Version, r)
		}
	}
	if !isOne {
		return nil, o.errorf("into: id %d is not the id of any of the merged regions", into.ID)
	}
	start, end := sorted[0].Start, sorted[len(sorted)-1].End
	if !bytes.Equal(into.Start, start) || !bytes.Equal(into.End, end) {
		return nil, o.errorf("into: range [%s, %s) is not the union [%s, %s) of the merged regions",
			fmtKey(into.Start), fmtEnd(into.End), fmtKey(start), fmtEnd(end))
	}
	return &Merge{Regions: regions, Into: into}, nil
}

// heldSnapshot returns the optional "snapshot" field, which must name a
// snapshot held at this line.
func (p *parser) heldSnapshot(o *object, field string) (string, bool, error) {
	name, ok, err := o.str(field)
	if err != nil || !ok {
		return "", ok, err
	}
	if _, held := p.held[name]; !held {
		if line, was := p.released[name]; was {
			return "", true, o.errorf("snapshot %q is not held (released on line %d)", name, line)
		}
		return "", true, o.errorf("snapshot %q is not held", name)
	}
	return name, true, nil
}

func (p *parser) get(o *object) (*Get, error) {
	g := &Get{}
	var err error
	if g.Key, err = o.needKey("key"); err != nil {
		return nil, err
	}
	var viaSnap bool
	if g.Snapshot, viaSnap, err = p.heldSnapshot(o, "snapshot"); err != nil {
		return nil, err
	}
	var hasTs bool
	if g.Ts, hasTs, err = o.uint("ts", true); err != nil {
		return nil, err
	}
	if !hasTs && !viaSnap {
		return nil, o.missing("ts")
	}
	if raw, ok := o.fields["expect"]; ok {
		switch jsonType(raw) {
		case "null":
			g.Expect = GetExpect{Set: true}
		case "string":
			v, _, err := o.str("expect")
			if err != nil {
				return nil, err
			}
			g.Expect = GetExpect{Set: true, Found: true, Value: []byte(v)}
		default:
			return nil, o.typeErr("expect", "a string, or null for not found")
		}
	}
	if g.Source, err = o.source(); err != nil {
		return nil, err
	}
	return g, nil
}

func (p *parser) scan(o *object) (*Scan, error) {
	s := &Scan{}
	var err error
	if s.Start, err = o.needKey("start"); err != nil {
		return nil, err
	}
	if s.End, err = o.needKey("end"); err != nil {
		return nil, err
	}
	if len(s.End) == 0 {
		s.End = nil // as for regions: unbounded is nil
	} else if bytes.Compare(s.Start, s.End) >= 0 {
		return nil, o.errorf("start %s is not below end %s", fmtKey(s.Start), fmtKey(s.End))
	}
	var viaSnap, hasTs bool
	if s.Snapshot, viaSnap, err = p.heldSnapshot(o, "snapshot"); err != nil {
		return nil, err
	}
	if s.Ts, hasTs, err = o.uint("ts", true); err != nil {
		return nil, err
	}
	if !hasTs && !viaSnap {
		return nil, o.missing("ts")
	}
	if s.Limit, _, err = o.int("limit"); err != nil {
		return nil, err
	}
	if o.has("expect") {
		if s.Expect, err = scanExpect(o, s); err != nil {
			return nil, err
		}
		s.HasExpect = true
	}
	if s.Source, err = o.source(); err != nil {
		return nil, err
	}
	return s, nil
}

// scanExpect decodes the expected pairs and refuses lists no scan could
// return (unordered, repeated or out-of-range keys, more than the limit):
// such an expectation is a mistake in the file, not a finding about the engine.
func scanExpect(o *object, s *Scan) ([]KV, error) {
	elems, err := o.array("expect")
	if err != nil {
		return nil, err
	}
	if s.Limit != 0 && len(elems) > s.Limit {
		return nil, o.errorf(`field "expect" lists %d pairs, more than the limit %d`, len(elems), s.Limit)
	}
	kvs := make([]KV, len(elems))
	for i, e := range elems {
		var pair []json.RawMessage
		if jsonType(e) == "array" {
			_ = json.Unmarshal(e, &pair)
		}
		if len(pair) != 2 {
			return nil, o.errorf("expect[%d] must be a [key, value] pair of strings, got %s", i, shown(e))
		}
		ks, kerr := decodeString(pair[0])
		vs, verr := decodeString(pair[1])
		if errors.Is(kerr, errNotString) || errors.Is(verr, errNotString) {
			return nil, o.errorf("expect[%d] must be a [key, value] pair of strings, got %s", i, shown(e))
		}
		if err := errors.Join(kerr, verr); err != nil {
			return nil, o.errorf("expect[%d]: %v", i, err)
		}
		k, err := parseKey(ks)
		if err != nil {
			return nil, o.errorf("expect[%d]: %v", i, err)
		}
		if !(&regioncache.Region{Start: s.Start, End: s.End}).Contains(k) {
			return nil, o.errorf("expect[%d]: key %s is outside the scanned range [%s, %s)",
				i, fmtKey(k), fmtKey(s.Start), fmtEnd(s.End))
		}
		if i > 0 && bytes.Compare(k, kvs[i-1].Key) <= 0 {
			return nil, o.errorf("expect[%d]: key %s is not above the previous key %s", i, fmtKey(k), fmtKey(kvs[i-1].Key))
		}
		kvs[i] = KV{Key: k, Value: []byte(vs)}
	}
	return kvs, nil
}

func (p *parser) snapshot(o *object) (*Snapshot, error) {
	s := &Snapshot{}
	var err error
	if s.Name, err = snapshotName(o); err != nil {
		return nil, err
	}
	if line, held := p.held[s.Name]; held {
		return nil, o.errorf("snapshot %q is already held (taken on line %d)", s.Name, line)
	}
	if s.Region, err = o.needRegion("region"); err != nil {
		return nil, err
	}
	if s.Ts, err = o.needUint("ts", true); err != nil {
		return nil, err
	}
	if s.Source, err = o.source(); err != nil {
		return nil, err
	}
	p.held[s.Name] = p.cur
	delete(p.released, s.Name)
	return s, nil
}

func (p *parser) release(o *object) (*Release, error) {
	name, err := snapshotName(o)
	if err != nil {
		return nil, err
	}
	if _, _, err := p.heldSnapshot(o, "name"); err != nil {
		return nil, err
	}
	delete(p.held, name)
	p.released[name] = p.cur
	return &Release{Name: name}, nil
}

func snapshotName(o *object) (string, error) {
	name, err := o.needStr("name")
	if err == nil && name == "" {
		err = o.errorf(`field "name" must not be empty`)
	}
	return name, err
}

func (p *parser) failpoint(o *object) (*Failpoint, error) {
	f, err := parseFailpoint(o)
	if err != nil {
		return nil, err
	}
	if f.Action.Kind == ActionPause {
		p.paused[f.Name] = p.cur
		delete(p.unpaused, f.Name)
	} else if _, was := p.paused[f.Name]; was {
		// Any new action releases the work paused there (resume and off
		// let it go on; error, panic or delay apply to it instead).
		delete(p.paused, f.Name)
		p.unpaused[f.Name] = p.cur
	}
	return f, nil
}

func parseFailpoint(o *object) (*Failpoint, error) {
	name, err := o.needStr("name")
	if err != nil {
		return nil, err
	}
	if !IsFailpoint(name) {
		return nil, o.errorf("unknown failpoint %q: want one of %s", name, strings.Join(FailpointNames, ", "))
	}
	act, err := o.needStr("action")
	if err != nil {
		return nil, err
	}
	a, err := parseAction(act)
	if err != nil {
		return nil, o.errorf("field \"action\": %v", err)
	}
	return &Failpoint{Name: name, Action: a}, nil
}

func regionState(o *object) (uint64, regioncache.State, error) {
	id, err := o.needUint("region", true)
	if err != nil {
		return 0, 0, err
	}
	name, err := o.needStr("state")
	if err != nil {
		return 0, 0, err
	}
	st, err := lifecycle.ParseState(name)
	if err != nil {
		return 0, 0, o.errorf("field \"state\": %v", err)
	}
	return id, regioncache.State(st), nil
}

func (p *parser) wait(o *object) (*Wait, error) {
	w := &Wait{Timeout: DefaultWaitTimeout}
	if d, ok, err := o.duration("timeout"); err != nil {
		return nil, err
	} else if ok {
		w.Timeout = d
	}
	// The three forms, by the field that introduces each; fields of two
	// forms on one line are refused rather than one of them ignored.
	forms := []struct{ name, field string }{
		{`"until"`, "until"}, {`"region" and "state"`, "region"}, {`"region" and "state"`, "state"},
		{`"failpoint"`, "failpoint"}, {`"failpoint"`, "count"},
	}
	chosen, chosenField := "", ""
	for _, f := range forms {
		if !o.has(f.field) {
			continue
		}
		if chosen != "" && chosen != f.name {
			return nil, o.errorf("%q cannot be combined with %q", f.field, chosenField)
		}
		chosen, chosenField = f.name, f.field
	}
	switch chosenField {
	case "until":
		until, err := o.needStr("until")
		if err != nil {
			return nil, err
		}
		if until != "idle" {
			return nil, o.errorf(`field "until" must be "idle", got %q`, until)
		}
		w.Idle = true
	case "region", "state":
		var err error
		if w.Region, w.State, err = regionState(o); err != nil {
			return nil, err
		}
	case "failpoint", "count":
		if err := p.waitFailpoint(o, w); err != nil {
			return nil, err
		}
	default:
		return nil, o.errorf(`needs "until": "idle", "region" and "state", or "failpoint"`)
	}
	return w, nil
}

// waitFailpoint reads the failpoint form of wait. The failpoint must be set
// to pause at this line: otherwise no work can be paused there and the wait
// could only time out, which is a mistake in the file.
func (p *parser) waitFailpoint(o *object, w *Wait) error {
	name, err := o.needStr("failpoint")
	if err != nil {
		return err
	}
	if !IsFailpoint(name) {
		return o.errorf("unknown failpoint %q: want one of %s", name, strings.Join(FailpointNames, ", "))
	}
	if _, ok := p.paused[name]; !ok {
		if line, was := p.unpaused[name]; was {
			return o.errorf("failpoint %q is not paused (its pause was replaced on line %d)", name, line)
		}
		return o.errorf("failpoint %q is not paused: set it to pause on an earlier line", name)
	}
	count, ok, err := o.int("count")
	if err != nil {
		return err
	}
	if !ok {
		count = 1
	}
	w.Failpoint, w.Count = name, count
	return nil
}

func parseExpect(o *object) (*Expect, error) {
	groups := []struct {
		assert Assertion
		fields []string
	}{
		{AssertState, []string{"region", "state"}},
		{AssertCounter, []string{"counter", "value"}},
		{AssertMemory, []string{"memory_at_most"}},
	}
	var chosen Assertion
	var chosenField string
	for _, g := range groups {
		for _, f := range g.fields {
			if !o.has(f) {
				continue
			}
			if chosen != 0 && chosen != g.assert {
				return nil, o.errorf("%q cannot be combined with %q", f, chosenField)
			}
			if chosen == 0 {
				chosen, chosenField = g.assert, f
			}
		}
	}
	e := &Expect{Assert: chosen}
	var err error
	switch chosen {
	case AssertState:
		e.Region, e.State, err = regionState(o)
	case AssertCounter:
		if e.Counter, err = o.needStr("counter"); err != nil {
			return nil, err
		}
		if !IsCounter(e.Counter) {
			return nil, o.errorf("unknown counter %q", e.Counter)
		}
		e.Value, err = o.needUint("value", false)
	case AssertMemory:
		e.MemoryAtMost, _, err = o.size("memory_at_most", false)
	default:
		err = o.errorf(`needs "region" and "state", "counter" and "value", or "memory_at_most"`)
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}
