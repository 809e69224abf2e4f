package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mainRun runs convis in this process: exit code, stdout, stderr.
func mainRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, nil, &out, &errb)
	return code, out.String(), errb.String()
}

// smallPNG writes a w×h picture with some structure.
func smallPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	im := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range im.Pix {
		im.Pix[i] = uint8(i * 7 % 251)
	}
	var b bytes.Buffer
	png.Encode(&b, im)
	writeFile(t, path, b.Bytes())
}

// Regression (issue 29.10, 29.11, 29.19, 29.21): flags and arguments that
// once crashed, did nothing, were taken silently or failed late are usage
// errors (exit 2) naming the flag, before any model is loaded.
func TestBadFlagsAreUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	img := filepath.Join(dir, "a.png")
	smallPNG(t, img, 32, 32)
	dataset := filepath.Join(dir, "manifest.json")
	writeFile(t, dataset, []byte(`{"images": [{"file": "a.png", "objects": [{"concept": "dog.n.01", "box": [0, 0, 8, 8]}]}]}`))
	// A model that cannot load: a check made after loading it would fail
	// with exit 1 and "no such directory", not name the flag.
	noModel := []string{"--model", filepath.Join(dir, "no-model"), "--cache-dir", t.TempDir()}
	out := filepath.Join(dir, "out")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"explain", img, "-c", "dog", "--canvas", "100000"}, "--canvas"},
		{[]string{"explain", img, "-c", "dog", "--canvas", "20000"}, "--canvas"},
		{[]string{"explain", img, "-c", "dog", "--batch", "1000000"}, "--batch"},
		{[]string{"explain", img, "-c", "dog", "--image-size", "9000"}, "--image-size"},
		{[]string{"explain", img, "-c", "dog", "--samples", "100000000"}, "--samples"},
		{[]string{"eval", "localization", dataset, "--canvas", "100000"}, "--canvas"},
		{[]string{"explain", img, "-c", ""}, "--concept"},
		{[]string{"explain", img, "-c", " "}, "--concept"},
		{[]string{"explain", img, "-c", "dog,"}, "--concept"},
		{[]string{"score", img, "-c", ""}, "--concept"},
		{[]string{"score", img, "-c", " "}, "--concept"},
		{[]string{"eval", "localization", dataset, "--stride", "0"}, "--stride"},
		{[]string{"eval", "localization", dataset, "--fill", "foo"}, "--fill"},
		{[]string{"eval", "localization", dataset, "--crop", "foo"}, "--crop"},
		{[]string{"--threads", "1000", "explain", img, "-c", "dog"}, "--threads"},
		{[]string{"explain", img, "-c", "dog", "--max-pixels", "0"}, "--max-pixels"},
		{[]string{"explain", img, "-c", "dog", "--max-pixels", "-1"}, "--max-pixels"},
		{[]string{"score", img, "-c", "dog", "--max-pixels", "0"}, "--max-pixels"},
		{[]string{"embed", img, "--max-pixels", "-1"}, "--max-pixels"},
		{[]string{"classify", img, "--max-pixels", "0"}, "--max-pixels"},
		{[]string{"explain", img, "-c", "dog", "--format", ""}, "--format"},
		{[]string{"explain", img, "-c", "dog", "-o", ""}, "--output"},
	} {
		args := append(append([]string(nil), c.args...), noModel...)
		if slices.Contains(c.args, "explain") && !slices.Contains(c.args, "-o") {
			args = append(args, "-o", out)
		}
		code, _, errs := mainRun(t, args...)
		first := strings.SplitN(errs, "\n", 2)[0]
		if code != exitUsage || !strings.Contains(first, c.want) {
			t.Errorf("%q: exit %d, %q; want exit 2 naming %s", c.args, code, errs, c.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused run created %s", out)
	}
}

// Regression (issue 29.21): a typo'd input created convis-out and its run
// log; a run none of whose inputs exists writes nothing.
func TestMissingInputCreatesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "convis-out")
	code, _, errs := mainRun(t, "explain", filepath.Join(dir, "photo.jgp"), "-c", "dog", "-o", out, "--model", filepath.Join(dir, "no-model"))
	if code != exitFailure || !strings.Contains(errs, "photo.jgp: no such file or directory") {
		t.Errorf("exit %d, %q", code, errs)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s was created for an input that does not exist", out)
	}
}

// Regression (issue 29.21): --threshold's help said "default 0.7" while
// the default box rule is auto (rel:0.4 on refined maps).
func TestThresholdHelpTellsTheDefault(t *testing.T) {
	t.Parallel()
	_, help, _ := mainRun(t, "explain", "--help")
	var line string
	for _, l := range strings.Split(help, "\n") {
		if strings.Contains(l, "--threshold") {
			line = l
		}
	}
	if line == "" || strings.Contains(line, "(default 0.7)") || !strings.Contains(line, "rel:0.4") {
		t.Errorf("--threshold help: %q", line)
	}
}

// Regression (issue 29.4, 29.20, 29.3): a rerun with -o inside the input
// tree explained its own outputs (out/out/…); control characters in file
// names reached the terminal raw; a FIFO in the folder hung the batch.
func TestRerunInsideTheInputTree(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	in := filepath.Join(t.TempDir(), "in")
	smallPNG(t, filepath.Join(in, "a.png"), 40, 30)
	smallPNG(t, filepath.Join(in, "c\x1b[31m\nx.png"), 30, 40)
	if err := syscall.Mkfifo(filepath.Join(in, "pipe.png"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(in, "out")
	run := func(jsonl bool) (int, string, string) {
		args := []string{"explain", in, "-r", "-c", "animal", "--model", "../../testdata/fixture-model", "--ort-lib", lib,
			"--cache-dir", sharedCache, "--stride", "96", "--refine=false", "--seeds", "1", "--format", "overlay,png16,json", "-o", out}
		if jsonl {
			args = append(args, "--jsonl")
		}
		done := make(chan struct{})
		var code int
		var stdout, stderr string
		go func() { defer close(done); code, stdout, stderr = mainRun(t, args...) }()
		select {
		case <-done:
		case <-time.After(3 * time.Minute):
			t.Fatal("the batch hung (a FIFO among its inputs?)")
		}
		return code, stdout, stderr
	}
	code, stdout, stderr := run(false)
	if code != 0 || strings.Contains(stdout+stderr, "\x1b") || !strings.Contains(stdout, `c\x1b[31m\x0ax.png`) || !strings.Contains(stderr, "pipe.png: not a regular file") {
		t.Fatalf("first run: exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}
	code, stdout, stderr = run(true)
	if code != 0 {
		t.Fatalf("rerun: exit %d %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("rerun: %d records, want 2 (the two images, not their outputs):\n%s", len(lines), stdout)
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["status"] != "skipped" {
			t.Errorf("rerun line %q: %v", l, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "out")); err == nil {
		t.Error("the rerun explained its own outputs into out/out")
	}
}

// Regression (issue 29.6): on a full disk the batch left half pairs and
// ended without the "N of M images failed" line. Needs a tmpfs (root).
func TestFullDiskBatch(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	mnt := t.TempDir()
	if b, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, b)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	in := filepath.Join(t.TempDir(), "in")
	for _, n := range []string{"0000", "0001", "0002", "0003", "0004", "0005"} {
		writeFile(t, filepath.Join(in, n+".png"), mustRead(t, "../../testdata/scenes/single/"+n+".png"))
	}
	code, _, stderr := mainRun(t, "explain", in, "-c", "animal", "-c", "food", "--model", "../../testdata/fixture-model", "--ort-lib", lib,
		// One canvas, no refinement: the test is about whole pairs on a
		// full disk, not the map (as batchArgs).
		"--cache-dir", sharedCache, "--stride", "96", "--refine=false", "--seeds", "1", "-o", mnt)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if code != exitFailure || !strings.Contains(last, " of 6 images failed") {
		t.Fatalf("exit %d, last line %q:\n%s", code, last, stderr)
	}
	names, _ := filepath.Glob(filepath.Join(mnt, "*"))
	have := map[string]bool{}
	for _, n := range names {
		have[filepath.Base(n)] = true
		if strings.HasSuffix(n, ".tmp") {
			t.Errorf("temporary left: %s", n)
		}
	}
	for _, img := range []string{"0000", "0001", "0002", "0003", "0004", "0005"} {
		for _, c := range []string{"animal.n.01", "food.n.01"} {
			n := 0
			for _, s := range []string{".overlay.png", ".map.npy", ".map.png", ".json"} {
				if have[img+"."+c+s] {
					n++
				}
			}
			if n != 0 && n != 4 {
				t.Errorf("%s.%s: %d of its 4 files", img, c, n)
			}
		}
	}
}

// Regression (issue 29.3): SIGTERM is honoured at every moment: here while
// the list of images is read from a pipe that never ends (--from-file -),
// and a second signal ends the process even if something still waits.
func TestSIGTERMWhileReadingTheList(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	out := filepath.Join(t.TempDir(), "out")
	cmd := convisCmd(t, nil, "explain", "--from-file", "-", "-c", "animal", "--model", "../../testdata/fixture-model", "--ort-lib", lib,
		"--cache-dir", sharedCache, "-o", out)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close() // never written: the list never ends
	cmd.Stdin = pr
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
			t.Fatalf("exit %v, want %d: %s", err, exitInterrupted, stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("SIGTERM was ignored while reading the list: %s", stderr.String())
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("an interrupted run before any image created %s", out)
	}
}
