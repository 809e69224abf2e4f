package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/convis/convis/internal/pipeline"
)

// Without a terminal, a batch prints plain progress lines only with -v,
// and at most one per interval (10 s in use).
func TestBatchProgressPlainLines(t *testing.T) {
	var buf bytes.Buffer
	g := &globalOptions{Stderr: &buf, Log: newPlainLogger(&buf, slog.LevelInfo)}
	quiet := newBatchProgress(g, 10)
	quiet.every = 0
	quiet.Update(pipeline.Event{Done: 1, Total: 10})
	if buf.Len() != 0 {
		t.Fatalf("progress without -v: %q", buf.String())
	}
	g.Log = newPlainLogger(&buf, slog.LevelDebug)
	p := newBatchProgress(g, 10)
	p.start = time.Now().Add(-time.Minute) // one image a minute so far
	p.every = time.Hour
	p.Update(pipeline.Event{Done: 1, Total: 10})
	if buf.Len() != 0 {
		t.Fatal("a plain line before the interval")
	}
	p.every = 0
	p.Update(pipeline.Event{Done: 2, Total: 10, Failed: 1})
	if got := buf.String(); !strings.HasPrefix(got, "convis: 2/10 images, 2.0/min, ETA 4m0s, 1 failed") {
		t.Errorf("plain line %q", got)
	}
}

// Without a terminal, the index build logs count, rate and ETA once per
// interval, and its rate at the end.
func TestIndexProgressPlainLines(t *testing.T) {
	var buf bytes.Buffer
	g := &globalOptions{Stderr: &buf, Log: newPlainLogger(&buf, slog.LevelInfo)}
	p := newIndexProgress(g, newProgress(&buf))
	p.start = time.Now().Add(-10 * time.Second)
	p.Update(256, 7080)
	if buf.Len() != 0 {
		t.Fatalf("a line before the interval: %q", buf.String())
	}
	p.every = 0
	p.Update(1000, 7080)
	if got := buf.String(); !strings.Contains(got, "concept index: 1000/7080 prompts, 100/s, ETA 1m1s") {
		t.Errorf("progress line %q", got)
	}
	buf.Reset()
	p.Done(7080)
	if got := buf.String(); !strings.Contains(got, "concept index built: 7080 prompts in") || !strings.Contains(got, "/s") {
		t.Errorf("last line %q", got)
	}
}
