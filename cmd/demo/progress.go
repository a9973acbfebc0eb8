package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
)

// progressMinOps is the smallest log worth a progress bar.
const progressMinOps = 500

// progress is a one-line bar on a terminal, redrawn at most every
// redrawWait; rows printed elsewhere on the same terminal clear it first.
type progress struct {
	w          io.Writer
	total      int
	done       int
	label      string
	shown      bool
	lastDrawn  time.Time
	barWidth   int
	redrawWait time.Duration
}

// newProgress returns a bar on stderr for total ops, or nil when there
// should be none: not a terminal (on either stream: output that is piped
// gets no bar), JSON output, or a short log.
func newProgress(stdout, stderr io.Writer, total int, json bool) *progress {
	if json || total < progressMinOps || !isTerminal(stderr) || !isTerminal(stdout) {
		return nil
	}
	return &progress{w: stderr, total: total, barWidth: 30, redrawWait: 100 * time.Millisecond}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// step counts one op done and redraws the bar when it is time to.
func (p *progress) step(label string) {
	p.done++
	p.label = label
	if time.Since(p.lastDrawn) < p.redrawWait && p.done < p.total {
		return
	}
	p.draw()
}

func (p *progress) draw() {
	filled := p.barWidth * p.done / max(p.total, 1)
	fmt.Fprintf(p.w, "\r\033[K[%s%s] %d/%d ops  %s",
		strings.Repeat("#", filled), strings.Repeat(".", p.barWidth-filled), p.done, p.total, p.label)
	p.shown = true
	p.lastDrawn = time.Now()
}

// clear erases the bar; the next step draws it again.
func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
		p.lastDrawn = time.Time{}
	}
}
