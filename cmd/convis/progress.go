package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/convis/convis/internal/pipeline"
)

// progressLine draws a one-line progress bar on stderr, only when stderr is
// a terminal; elsewhere it stays silent (scripts and CI get clean logs).
type progressLine struct {
	w      io.Writer
	on     bool
	label  string
	last   time.Time
	active bool
}

func newProgress(w io.Writer) *progressLine {
	p := &progressLine{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.on = os.Getenv("TERM") != "dumb"
		}
	}
	return p
}

// Update draws done/total under the label, at most ten times a second.
func (p *progressLine) Update(label string, done, total int) {
	if !p.on || total <= 0 {
		return
	}
	if done < total && time.Since(p.last) < 100*time.Millisecond && label == p.label {
		return
	}
	p.last, p.label, p.active = time.Now(), label, true
	const width = 28
	fill := width * done / total
	fmt.Fprintf(p.w, "\r\033[K%s [%s%s] %d/%d", label, strings.Repeat("█", fill), strings.Repeat("·", width-fill), done, total)
}

// Done clears the line.
func (p *progressLine) Done() {
	if p.on && p.active {
		fmt.Fprint(p.w, "\r\033[K")
		p.active = false
	}
}

// batchProgress shows a batch's progress: on a terminal a live line with
// images done, rate, ETA and failures; elsewhere, with -v, a plain line at
// most every 10 s; otherwise nothing.
type batchProgress struct {
	line    *progressLine
	w       io.Writer
	plain   bool
	total   int
	start   time.Time
	lastLog time.Time
	every   time.Duration // between plain lines (10 s)
	ev      pipeline.Event
}

func newBatchProgress(g *globalOptions, total int) *batchProgress {
	b := &batchProgress{line: newProgress(g.Stderr), w: g.Stderr, total: total, start: time.Now(), every: 10 * time.Second}
	b.plain = !b.line.on && g.Log.Enabled(context.Background(), slog.LevelDebug)
	b.lastLog = b.start
	return b
}

// Update takes a pipeline event.
func (b *batchProgress) Update(ev pipeline.Event) {
	b.ev = ev
	rate, eta := b.rate()
	status := fmt.Sprintf("%d/%d images", ev.Done, ev.Total)
	if rate > 0 {
		status += fmt.Sprintf(", %.1f/min, ETA %s", rate, eta)
	}
	if ev.Failed > 0 {
		status += fmt.Sprintf(", %d failed", ev.Failed)
	}
	if b.line.on {
		label := status
		if ev.WindowsTotal > 0 {
			label += " · " + filepath.Base(ev.Image)
		}
		done, n := ev.WindowsDone, ev.WindowsTotal
		if n == 0 {
			done, n = ev.Done, ev.Total
		}
		b.line.Update(label, done, n)
		return
	}
	if b.plain && time.Since(b.lastLog) >= b.every {
		b.lastLog = time.Now()
		fmt.Fprintln(b.w, "convis: "+status)
	}
}

// rate is images per minute over the images explained so far (skipped
// ones cost little and would inflate it), and the time left at that rate.
func (b *batchProgress) rate() (float64, string) {
	worked := b.ev.Done - b.ev.Skipped
	el := time.Since(b.start)
	if worked <= 0 || el < time.Second {
		return 0, ""
	}
	perMin := float64(worked) / el.Minutes()
	left := time.Duration(float64(b.ev.Total-b.ev.Done) / perMin * float64(time.Minute))
	return perMin, left.Round(time.Second).String()
}

// Clear removes the live line before other output.
func (b *batchProgress) Clear() { b.line.Done() }

// Done ends the progress display.
func (b *batchProgress) Done() { b.line.Done() }

// indexProgress shows the concept index's first build: the terminal's
// live bar, and without a terminal a log line every 10 s with the count,
// the rate and the time left (the build of --vocab wordnet takes minutes),
// then one line with the whole build's rate.
type indexProgress struct {
	line    *progressLine
	log     *slog.Logger
	start   time.Time
	lastLog time.Time
	every   time.Duration
}

func newIndexProgress(g *globalOptions, line *progressLine) *indexProgress {
	now := time.Now()
	return &indexProgress{line: line, log: g.Log, start: now, lastLog: now, every: 10 * time.Second}
}

// Update takes prompts done out of the total.
func (p *indexProgress) Update(done, total int) {
	p.line.Update("concept index", done, total)
	if p.line.on || done >= total || time.Since(p.lastLog) < p.every {
		return
	}
	p.lastLog = time.Now()
	rate := float64(done) / time.Since(p.start).Seconds()
	eta := time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second)
	p.log.Info(fmt.Sprintf("concept index: %d/%d prompts, %.0f/s, ETA %s", done, total, rate, eta))
}

// Done ends the display with the build's rate.
func (p *indexProgress) Done(total int) {
	p.line.Done()
	el := time.Since(p.start)
	p.log.Info(fmt.Sprintf("concept index built: %d prompts in %s, %.0f/s", total, el.Round(100*time.Millisecond), float64(total)/el.Seconds()))
}
