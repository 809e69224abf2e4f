package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
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
	if c := run(bg, "concepts", "show", "elefant"); c != exitFailure {
		t.Errorf("unknown concept: %d", c)
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
