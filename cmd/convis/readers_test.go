package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convis/convis/internal/render"
)

// Regression tests of issue 29 for the commands that read output folders
// (compare, check, report, runs summary, eval --maps). They need no model.

// runMain runs convis with args and returns the exit code, stdout and
// stderr.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(t.Context(), args, nil, &out, &errb)
	return code, out.String(), errb.String()
}

// writeTestNPY writes a w×h map peaking at (px, py).
func writeTestNPY(t *testing.T, path string, w, h, px, py int) {
	t.Helper()
	v := make([]float32, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := float32(x-px), float32(y-py)
			v[y*w+x] = 1 / (1 + (dx*dx+dy*dy)/16)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := render.WriteNPY(path, v, w, h); err != nil {
		t.Fatal(err)
	}
}

// Issue 29.9: an unreadable map is bad data, not bad usage: exit 2, and the
// last line of stderr names the file (no "Run 'convis --help'" after it).
func TestCompareUnreadableMapIsNotAUsageError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.npy"), filepath.Join(dir, "b.npy")
	writeTestNPY(t, a, 16, 16, 4, 4)
	writeTestNPY(t, b, 16, 16, 4, 4)
	data := mustRead(t, b)
	if err := os.WriteFile(b, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runMain(t, "compare", a, b)
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if last := lines[len(lines)-1]; code != exitUsage || !strings.Contains(last, b) {
		t.Errorf("exit %d, last stderr line %q, want exit 2 and the line naming %s", code, last, b)
	}
	// A real usage error still points to --help.
	if code, _, errs := runMain(t, "compare", a); code != exitUsage || !strings.Contains(errs, "convis --help") {
		t.Errorf("one argument: exit %d, %q", code, errs)
	}
}

// Issue 29.8: a NaN bound compares false with everything, so it switched
// its check off (a Pearson of −0.56 passed). Non-finite bounds are
// refused, from flags (usage error) and from tolerance files (naming it).
func TestCompareRefusesNonFiniteTolerances(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.npy"), filepath.Join(dir, "b.npy")
	writeTestNPY(t, a, 16, 16, 2, 2)
	writeTestNPY(t, b, 16, 16, 13, 13) // far away: fails every default bound
	if code, _, _ := runMain(t, "compare", a, b); code != exitFailure {
		t.Fatalf("moved map: exit %d, want 1", code)
	}
	for _, flags := range [][]string{
		{"--min-pearson", "NaN", "--max-peak-shift", "NaN", "--min-top-iou", "NaN"},
		{"--min-pearson", "nan"}, {"--max-peak-shift", "+Inf"}, {"--top-k", "NaN"},
	} {
		code, out, errs := runMain(t, append([]string{"compare", a, b}, flags...)...)
		if code != exitUsage || !strings.Contains(errs, "finite") {
			t.Errorf("%v: exit %d, want 2 and a word on finite bounds\n%s%s", flags, code, out, errs)
		}
	}
	tol := filepath.Join(dir, "tol.yaml")
	os.WriteFile(tol, []byte("default: {min_pearson: .nan}\n"), 0o644)
	if code, _, errs := runMain(t, "compare", a, b, "--tolerances", tol); code != exitUsage || !strings.Contains(errs, tol) || !strings.Contains(errs, "finite") {
		t.Errorf("tolerance file with .nan: exit %d, %q", code, errs)
	}
	os.WriteFile(tol, []byte("concepts:\n  dog.n.01: {max_peak_shift: .nan}\n"), 0o644)
	if code, _, errs := runMain(t, "compare", a, b, "--tolerances", tol); code != exitUsage || !strings.Contains(errs, "concepts.dog.n.01") {
		t.Errorf("per-concept .nan: exit %d, %q", code, errs)
	}
}
