package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
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
