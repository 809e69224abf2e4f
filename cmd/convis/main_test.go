package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/clip/cliptest"
	"github.com/convis/convis/internal/filelock"
)

func TestMain(m *testing.M) {
	if path := os.Getenv("CONVIS_TEST_HOLD_LOCK"); path != "" {
		// Hold a cache lock until killed (the stale-lock test).
		if _, err := filelock.Acquire(context.Background(), path, time.Minute, nil); err != nil {
			fmt.Println("lock:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		time.Sleep(time.Hour)
	}
	// The test binary runs as convis itself when a test starts it as a
	// process (batch tests that kill, shard or stream).
	if os.Getenv("CONVIS_TEST_AS_CONVIS") == "1" {
		useFakeRuntimeFromEnv()
		ctx, stop := interruptContext()
		code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	dir, err := os.MkdirTemp("", "convis-test-cache-")
	if err != nil {
		panic(err)
	}
	sharedCache = dir
	code := testscript.RunMain(m, map[string]func() int{
		"convis": func() int {
			useFakeRuntimeFromEnv()
			return Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		},
	})
	os.RemoveAll(dir)
	os.Exit(code)
}

// useFakeRuntimeFromEnv swaps ONNX Runtime for cliptest's fake encoders when
// CONVIS_TEST_FAKE_RUNTIME is set to the model's embedding size: scripts
// and tests whose assertions are about flags, files and messages, not the
// model's numbers, set it and run in a fraction of the time.
func useFakeRuntimeFromEnv() {
	v := os.Getenv("CONVIS_TEST_FAKE_RUNTIME")
	if v == "" {
		return
	}
	dim, err := strconv.Atoi(v)
	if err != nil || dim <= 0 {
		panic("CONVIS_TEST_FAKE_RUNTIME wants the embedding size, got " + v)
	}
	runtimeLoader = func(*globalOptions) (clip.Runtime, error) { return cliptest.Runtime{Dim: dim}, nil }
}

// sharedCache is one cache folder for the tests of this package: the
// concept index of a model is built once, not once per test. Tests of the
// cache itself use their own.
var sharedCache string

// TestScripts runs the CLI scripts in testdata/script. $REPO is the
// repository root (fixture model, test images); $ORTLIB the ONNX Runtime
// library that make ort fetched.
func TestScripts(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	lib := ortLibForTest(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", repo)
			env.Setenv("ORTLIB", lib)
			env.Setenv("CONVIS_ORT_LIB", lib)
			env.Setenv("XDG_CACHE_HOME", filepath.Join(env.WorkDir, ".cache"))
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "root" {
				return os.Geteuid() == 0, nil // root writes into read-only folders
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// truncate SRC N DST writes the first N bytes of SRC to DST.
			"truncate": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 3 {
					ts.Fatalf("usage: truncate SRC N DST")
				}
				data, err := os.ReadFile(ts.MkAbs(args[0]))
				ts.Check(err)
				n, err := strconv.Atoi(args[1])
				ts.Check(err)
				ts.Check(os.WriteFile(ts.MkAbs(args[2]), data[:min(n, len(data))], 0o644))
			},
		},
	})
}

// ortLibForTest is the ONNX Runtime library the tests use: $CONVIS_ORT_LIB
// or the one make ort fetched. Missing, the test fails on CI and is skipped
// elsewhere.
func ortLibForTest(t *testing.T) string {
	t.Helper()
	lib := os.Getenv("CONVIS_ORT_LIB")
	if lib == "" {
		lib, _ = filepath.Abs("../../.ort/libonnxruntime.so.1")
	}
	if _, err := os.Stat(lib); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ONNX Runtime missing (%v): run make ort", err)
		}
		t.Skip("ONNX Runtime missing: run make ort")
	}
	return lib
}
