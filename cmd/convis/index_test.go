package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Two processes on a fresh cache build the concept index once: the second
// waits for the first and loads its file. A lock left by a killed process
// is taken over at once (flock dies with its process).
func TestIndexBuiltOnceByTwoProcesses(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	cache := t.TempDir()
	args := func(out string) []string {
		return []string{"explain", "--model", "../../testdata/fixture-model", "--ort-lib", lib, "--cache-dir", cache,
			"-c", "dog", "--stride", "96", "--refine=false", "--seeds", "1", "--format", "json", "-o", out, "../../testdata/images/gray.png"}
	}
	var errs [2]bytes.Buffer
	a := convisCmd(t, nil, args(filepath.Join(t.TempDir(), "a"))...)
	b := convisCmd(t, nil, args(filepath.Join(t.TempDir(), "b"))...)
	a.Stderr, b.Stderr = &errs[0], &errs[1]
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	if err := a.Wait(); err != nil {
		t.Fatalf("first: %v: %s", err, errs[0].String())
	}
	if err := b.Wait(); err != nil {
		t.Fatalf("second: %v: %s", err, errs[1].String())
	}
	builds := strings.Count(errs[0].String()+errs[1].String(), "building the concept index")
	if builds != 1 {
		t.Fatalf("%d index builds, want 1:\n%s\n%s", builds, errs[0].String(), errs[1].String())
	}
	t.Logf("waiting process said: %v", strings.Contains(errs[0].String()+errs[1].String(), "waiting for it"))

	// A stale lock: a process takes the entry's lock and is killed.
	locks, _ := filepath.Glob(filepath.Join(cache, "index", "*.idx.lock"))
	idx, _ := filepath.Glob(filepath.Join(cache, "index", "*.idx"))
	if len(locks) != 1 || len(idx) != 1 {
		t.Fatalf("cache holds %v and %v", locks, idx)
	}
	os.Remove(idx[0])
	holder := convisCmd(t, []string{"CONVIS_TEST_HOLD_LOCK=" + locks[0]})
	out, _ := holder.StdoutPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "locked\n" {
		t.Fatalf("holder: %q", line)
	}
	holder.Process.Kill()
	holder.Wait()
	var stderr bytes.Buffer
	c := convisCmd(t, nil, args(filepath.Join(t.TempDir(), "c"))...)
	c.Stderr = &stderr
	if err := c.Run(); err != nil {
		t.Fatalf("after a killed lock holder: %v: %s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "building the concept index") {
		t.Errorf("the index was not rebuilt after the stale lock: %s", stderr.String())
	}
}
