package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"unicode"
)

// plainHandler writes log records as people read them on a terminal:
// "convis: message key=value", with "warning:" or "error:" before warnings
// and errors, and no timestamps (stderr of a CLI, not a server log).
type plainHandler struct {
	w     io.Writer
	level slog.Level
	mu    *sync.Mutex
	attrs []slog.Attr
}

func newPlainLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(&plainHandler{w: w, level: level, mu: &sync.Mutex{}})
}

func (h *plainHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *plainHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("convis: ")
	switch {
	case r.Level >= slog.LevelError:
		b.WriteString("error: ")
	case r.Level >= slog.LevelWarn:
		b.WriteString("warning: ")
	}
	b.WriteString(escapeName(r.Message))
	write := func(a slog.Attr) bool {
		v := a.Value.String()
		if strings.ContainsAny(v, " \t\"") || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			v = fmt.Sprintf("%q", v) // %q escapes control characters too
		}
		b.WriteString(" " + a.Key + "=" + v)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *plainHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

func (h *plainHandler) WithGroup(string) slog.Handler { return h }

// note tells the user something worth knowing but not a problem (which
// sense a word means, the demo model): shown at --log-level info and
// below, silenced by --log-level warn or error.
func (g *globalOptions) note(format string, args ...any) {
	if g.Log != nil && !g.Log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	fmt.Fprintln(g.Stderr, escapeName(fmt.Sprintf(format, args...)))
}
