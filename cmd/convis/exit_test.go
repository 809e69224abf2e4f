package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestExitCodes(t *testing.T) {
	run := func(ctx context.Context, args ...string) int {
		return Main(ctx, args, nil, &bytes.Buffer{}, &bytes.Buffer{})
	}
	bg := context.Background()
	if c := run(bg, "version"); c != exitOK {
		t.Errorf("version: %d", c)
	}
	if c := run(bg, "frobnicate"); c != exitUsage {
		t.Errorf("unknown command: %d", c)
	}
	if c := run(bg, "concepts", "tree", "dog", "--depth", "x"); c != exitUsage {
		t.Errorf("bad flag value: %d", c)
	}
	// Regression (issue 20.16): what the user typed wrong is a usage error.
	for _, args := range [][]string{{"concepts", "show", "elefant"}, {"model", "ls"}, {"concepts", "shwo", "dog"}, {"completion", "tcsh"},
		{"concepts", "tree", "dog", "--vocab", "/nonexistent/words.txt"}, {"--variant", "int8", "model", "info"}} {
		if c := run(bg, args...); c != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, c, exitUsage)
		}
	}
	lib, _ := filepath.Abs("../../.ort/libonnxruntime.so.1")
	if _, err := os.Stat(lib); err != nil {
		t.Skip("ONNX Runtime missing")
	}
	ctx, cancel := context.WithCancel(bg)
	cancel() // as Ctrl-C before the first encoder pass
	if c := run(ctx, "embed", "--ort-lib", lib, "--model", "../../testdata/fixture-model", "--text", "a dog"); c != exitInterrupted {
		t.Errorf("interrupted: %d", c)
	}
}

// Regression (issue 20.13): exitCode matched error text anywhere, so an
// I/O error saying "invalid argument" (EINVAL) became a usage error.
func TestExitCodeOfWrappedErrors(t *testing.T) {
	bg := context.Background()
	io := fmt.Errorf("write out/x.png: %w", syscall.EINVAL)
	if c := exitCode(bg, io); c != exitFailure {
		t.Errorf("%v: exit %d, want %d", io, c, exitFailure)
	}
	if c := exitCode(bg, &os.PathError{Op: "open", Path: "invalid argument x", Err: syscall.EINVAL}); c != exitFailure {
		t.Errorf("path error: exit %d", c)
	}
	if c := exitCode(bg, errors.New(`unknown command "x" for "convis"`)); c != exitUsage {
		t.Errorf("cobra's unknown command: exit %d", c)
	}
}
