package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convis/convis/internal/evaluate"
	"github.com/convis/convis/internal/record"
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

// writeTestPair writes one map as explain does (a sidecar and its .npy)
// in dir, peaking at (px, py) of a 16×16 map, and returns the sidecar.
func writeTestPair(t *testing.T, dir, rel, synset string, seed uint64, px, py int) string {
	t.Helper()
	stem := strings.TrimSuffix(rel, filepath.Ext(rel))
	npy := filepath.Join(dir, stem+"."+synset+".map.npy")
	writeTestNPY(t, npy, 16, 16, px, py)
	overlay := filepath.Join(dir, stem+"."+synset+".overlay.png")
	im := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	im.Set(px, py, color.NRGBA{255, 0, 0, 255})
	if err := render.WriteAtomic(overlay, func(w io.Writer) error { return png.Encode(w, im) }); err != nil {
		t.Fatal(err)
	}
	sc := record.Sidecar{Schema: record.SidecarSchema, Rel: rel, Image: rel, Concept: record.ConceptInfo{Query: synset, Synset: synset}, Method: "grid", Seed: seed,
		Model: record.ModelInfo{SHA256: "abc", Variant: "fp32"}, MapSize: [2]int{16, 16}, Params: map[string]any{"stride": 16},
		Outputs: map[string]string{"npy": filepath.Base(npy), "overlay": filepath.Base(overlay), "json": filepath.Base(stem) + "." + synset + ".json"}}
	data, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, stem+"."+synset+".json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Issue 29.21: compare's JUnit file passes the strict Ant/Jenkins schema
// (testsuite timestamp, hostname and time; properties before testcases),
// with a failing, a passing, a missing and an allowed-missing pair.
func TestCompareJUnitValidates(t *testing.T) {
	t.Parallel()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed (Debian package libxml2-utils; .ci/run installs it)")
	}
	xsd, _ := filepath.Abs("../../testdata/junit/JUnit.xsd")
	dir := t.TempDir()
	base, cur := filepath.Join(dir, "base"), filepath.Join(dir, "cur")
	writeTestPair(t, base, "a.png", "dog.n.01", 0, 4, 4)
	writeTestPair(t, cur, "a.png", "dog.n.01", 7, 4, 4)
	writeTestPair(t, base, "sub/b.png", "dog.n.01", 0, 4, 4)
	writeTestPair(t, cur, "sub/b.png", "dog.n.01", 7, 12, 12)
	writeTestPair(t, base, "gone.png", "cat.n.01", 0, 4, 4)
	for _, extra := range [][]string{nil, {"--allow-missing"}} {
		junit := filepath.Join(dir, fmt.Sprintf("junit%d.xml", len(extra)))
		code, out, errs := runMain(t, append([]string{"compare", base, cur, "--junit", junit}, extra...)...)
		if code != exitFailure {
			t.Fatalf("%v: exit %d, want 1\n%s%s", extra, code, out, errs)
		}
		if msg, err := exec.Command(xmllint, "--noout", "--schema", xsd, junit).CombinedOutput(); err != nil {
			t.Errorf("%v: the JUnit file fails the schema: %v\n%s\n%s", extra, err, msg, mustRead(t, junit))
		}
		x := string(mustRead(t, junit))
		if !strings.Contains(x, `<failure message="pearson`) || !strings.Contains(x, `name="sub/b.png dog.n.01"`) || strings.Index(x, "<properties>") > strings.Index(x, "<testcase") {
			t.Errorf("%v: junit\n%s", extra, x)
		}
		if extra != nil && !strings.Contains(x, `<skipped message="no map in the current run`) {
			t.Errorf("--allow-missing: the missing pair is not skipped\n%s", x)
		}
	}
}

// Issue 29.21: the settings that differ are said once (in the table on
// stdout, not again on stderr; on stderr only with --json), the Markdown
// lists them in one list, and a sidecar of an unknown (future) schema is
// refused naming it.
func TestCompareSettingsNotesAndSchema(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base, cur := filepath.Join(dir, "base"), filepath.Join(dir, "cur")
	writeTestPair(t, base, "a.png", "dog.n.01", 0, 4, 4)
	sc := writeTestPair(t, cur, "a.png", "dog.n.01", 7, 4, 4)
	// Another stride too: two settings differ.
	data := strings.Replace(string(mustRead(t, sc)), `"stride":16`, `"stride":8`, 1)
	os.WriteFile(sc, []byte(data), 0o644)
	md := filepath.Join(dir, "summary.md")
	code, out, errs := runMain(t, "compare", base, cur, "--markdown", md)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if n := strings.Count(out+errs, "seed 0 → 7"); n != 1 || strings.Count(out, "stride 16 → 8") != 1 || strings.Contains(errs, "differ in settings") {
		t.Errorf("the settings notes appear %d times:\nstdout:\n%s\nstderr:\n%s", n, out, errs)
	}
	code, out, errs = runMain(t, "compare", base, cur, "--json")
	if code != exitOK || strings.Count(errs, "seed 0 → 7") != 1 || !strings.Contains(out, `"settings_differ"`) {
		t.Errorf("--json: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	m := string(mustRead(t, md))
	if strings.Contains(m, "\n>") || !strings.Contains(m, "\n- seed 0 → 7\n- stride 16 → 8\n") {
		t.Errorf("markdown: the settings are not one list:\n%s", m)
	}
	os.WriteFile(sc, []byte(strings.Replace(data, `"schema":2`, `"schema":99`, 1)), 0o644)
	code, _, errs = runMain(t, "compare", base, cur)
	if code != exitUsage || !strings.Contains(errs, sc) || !strings.Contains(errs, "schema 99") {
		t.Errorf("schema 99: exit %d, %q", code, errs)
	}
}

// reportTestFolder is an output folder of 4 images × 3 concepts.
func reportTestFolder(t *testing.T, out string) {
	for i, rel := range []string{"a.png", "b.png", "sub/c.png", "d.png"} {
		for j, c := range []string{"dog.n.01", "cat.n.01", "food.n.01"} {
			writeTestPair(t, out, rel, c, 0, 2+3*i, 2+4*j)
		}
	}
}

// reportSnapshot is a report's page and pictures, and fails the test on
// a hidden (partial) folder left beside it.
func reportSnapshot(t *testing.T, page string) string {
	var b strings.Builder
	b.Write(mustRead(t, page))
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(page), "*", "*"))
	if hidden, _ := filepath.Glob(filepath.Join(filepath.Dir(page), ".*")); len(hidden) > 0 {
		t.Errorf("left behind: %v", hidden)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(filepath.Dir(page), f)
		fmt.Fprintf(&b, "\n%s %x", rel, mustRead(t, f))
	}
	return b.String()
}

// Issue 29.13: two reports of one folder are byte-identical, pictures
// included (cells, pictures and the header were in map order).
func TestReportIsDeterministic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	reportTestFolder(t, out)
	var first string
	for i := 0; i < 4; i++ {
		page := filepath.Join(dir, fmt.Sprintf("r%d", i), "report.html")
		if code, stdout, errs := runMain(t, "report", out, "-o", page); code != exitOK {
			t.Fatalf("report: exit %d\n%s%s", code, stdout, errs)
		}
		if snap := reportSnapshot(t, page); i == 0 {
			first = snap
		} else if snap != first {
			t.Fatalf("report %d differs from report 0: the report is not deterministic", i)
		}
	}
}

// Issue 29.12: a report goes on past a pair it cannot show (a missing
// overlay, a damaged map, a damaged sidecar), lists it as failed and
// writes the page; it never leaves a half-built picture folder.
func TestReportListsBrokenPairs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	reportTestFolder(t, out)
	os.Remove(filepath.Join(out, "b.cat.n.01.overlay.png"))
	npy := filepath.Join(out, "sub", "c.food.n.01.map.npy")
	os.WriteFile(npy, mustRead(t, npy)[:40], 0o644)
	os.WriteFile(filepath.Join(out, "d.dog.n.01.json"), []byte(`{"schema": 2, "concept": {"syn`), 0o644)
	page := filepath.Join(dir, "r", "report.html")
	code, stdout, errs := runMain(t, "report", out, "-o", page)
	if code != exitOK || !strings.Contains(stdout, "3 failed") {
		t.Fatalf("report with three broken pairs: exit %d\n%s%s", code, stdout, errs)
	}
	html := string(mustRead(t, page))
	for _, want := range []string{"b.cat.n.01.overlay.png", "c.food.n.01.map.npy", "d.dog.n.01.json"} {
		if !strings.Contains(html, want) {
			t.Errorf("the page does not list the broken %s", want)
		}
	}
	reportSnapshot(t, page)
	// Nothing to show: no page and no picture folder.
	bad := filepath.Join(dir, "bad")
	writeTestPair(t, bad, "x.png", "dog.n.01", 0, 1, 1)
	writeTestPair(t, bad, "y.png", "dog.n.01", 0, 1, 1)
	os.WriteFile(filepath.Join(bad, "y.dog.n.01.map.npy"), nil, 0o644)
	os.Remove(filepath.Join(bad, "x.dog.n.01.overlay.png"))
	os.Remove(filepath.Join(bad, "x.dog.n.01.map.npy"))
	page = filepath.Join(dir, "none", "report.html")
	if code, _, errs := runMain(t, "report", bad, "-o", page); code == exitOK || !strings.Contains(errs, "x.dog.n.01") {
		t.Errorf("a folder with no showable map: exit %d, %q", code, errs)
	}
	if left, _ := os.ReadDir(filepath.Dir(page)); len(left) > 0 {
		t.Errorf("a failed report left %v", left)
	}
}

// Issue 29.5: after a crash the run log ends in half a line, and a convis
// before this fix glued the rerun's header onto it. runs summary read
// "line 3 is not JSON" and exited 1; report exited 0 with its failure
// list silently empty. Both skip the torn line with a warning now.
func TestReadersSkipTornRunLogLines(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out")
	writeTestPair(t, out, "b.png", "dog.n.01", 0, 4, 4)
	log := strings.Join([]string{
		`{"type":"header","convis_version":"dev","images":3}`,
		`{"type":"record","status":"error","image":"a.png","relative_path":"a.png","method":"grid","error":"a.png: not a PNG","forward_passes":0}`,
		`{"type":"record","status":"ok","image":"b.png","relative_path":"b.p{"type":"header","convis_version":"dev","images":3}`,
		`{"type":"record","status":"ok","image":"b.png","relative_path":"b.png","concept":"dog.n.01","method":"grid","forward_passes":730,"timings_ms":{"explain":100}}`,
		`{"type":"record","status":"error","image":"c.png","relative_path":"c.png","concept":"dog.n.01","method":"grid","error":"c.png: truncated","forward_passes":0}`,
	}, "\n") + "\n"
	os.WriteFile(filepath.Join(out, "convis-run.jsonl"), []byte(log), 0o644)
	code, stdout, errs := runMain(t, "runs", "summary", out)
	if code != exitOK || !strings.Contains(errs, "line 3 is torn") || !strings.Contains(stdout, "(2 failed)") {
		t.Errorf("runs summary: exit %d\n%s%s", code, stdout, errs)
	}
	page := filepath.Join(out, "report.html")
	code, stdout, errs = runMain(t, "report", out, "-o", page)
	if code != exitOK || !strings.Contains(errs, "line 3 is torn") {
		t.Fatalf("report: exit %d\n%s%s", code, stdout, errs)
	}
	if html := string(mustRead(t, page)); !strings.Contains(html, "a.png: not a PNG") || !strings.Contains(html, "c.png: truncated") {
		t.Errorf("the report's failure list misses the failed images")
	}
}

// Issue 29.14: --maps folders whose method is named like one eval computes
// (grid, stochastic, occlusion, center) were computed instead of read, or
// doubled. They are read, always, and their rows say so; no model is
// loaded for them (the ONNX Runtime path given does not exist).
func TestEvalMapsNamedLikeComputedMethods(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.png"), mustRead(t, "../../testdata/scenes/single/0000.png"))
	os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"images": [{"file": "a.png", "objects": [{"concept": "owl.n.01", "box": [4, 29, 141, 190]}]}]}`), 0o644)
	maps := filepath.Join(dir, "maps")
	peaks := map[string][2]int{"grid": {70, 120}, "stochastic": {220, 2}, "occlusion": {60, 100}, "center": {220, 220}}
	for method, peak := range peaks {
		v := make([]float32, 224*224)
		v[peak[1]*224+peak[0]] = 1
		sub := filepath.Join(maps, method)
		if err := render.WriteAtomicMkdir(filepath.Join(sub, "a.owl.n.01.map.npy"), func(w io.Writer) error { return render.EncodeNPY(w, v, 224, 224) }); err != nil {
			t.Fatal(err)
		}
		sc := fmt.Sprintf(`{"schema": 2, "relative_path": "a.png", "concept": {"synset": "owl.n.01"}, "method": %q, "outputs": {"npy": "a.owl.n.01.map.npy"}}`, method)
		os.WriteFile(filepath.Join(sub, "a.owl.n.01.json"), []byte(sc), 0o644)
	}
	code, out, errs := runMain(t, "eval", "localization", dir, "--method", "center", "--maps", maps, "--json", "--ort-lib", filepath.Join(dir, "no-such-libonnxruntime.so"))
	if code != exitOK {
		t.Fatalf("eval --maps: exit %d\n%s", code, errs)
	}
	var res struct {
		Results []evaluate.Row `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, r := range res.Results {
		got[r.Method+"/"+r.Source] = r.Pointing.Mean
	}
	want := map[string]float64{"center/": 1, "grid/maps": 1, "stochastic/maps": 0, "occlusion/maps": 1, "center/maps": 0}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pointing game by method/source %v, want %v", got, want)
	}
	code, out, _ = runMain(t, "eval", "localization", dir, "--method", "center", "--maps", maps, "--ort-lib", filepath.Join(dir, "none.so"))
	if code != exitOK || !strings.Contains(out, "center (maps)") || !strings.Contains(out, "grid (maps)") {
		t.Errorf("the table does not say which rows are read:\n%s", out)
	}
}

// Issue 29.1: check --update replaced the whole golden folder: with
// golden: imgs (the suite's images) the images were gone, with golden:
// sandbox unrelated files and subfolders, and golden: . failed half-way
// ("rename . ..old", leaving ..new/). A golden folder that holds anything
// but goldens is refused (naming what), before any model is loaded, and
// nothing is touched.
func TestCheckUpdateRefusesFoldersOfOtherFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	img := mustRead(t, "../../testdata/scenes/single/0000.png")
	writeFile(t, filepath.Join(dir, "imgs", "0000.png"), img)
	writeFile(t, filepath.Join(dir, "sandbox", "notes.txt"), []byte("mine"))
	writeTestPair(t, filepath.Join(dir, "sandbox"), "0000.png", "dog.n.01", 0, 4, 4) // goldens beside it
	os.MkdirAll(filepath.Join(dir, "sandbox", "empty"), 0o755)
	writeTestPair(t, filepath.Join(dir, "mixed"), "0000.png", "dog.n.01", 0, 4, 4)
	os.MkdirAll(filepath.Join(dir, "mixed", "work"), 0o755)
	writeFile(t, filepath.Join(dir, "mixed", "work", "draft.md"), []byte("draft"))
	before := func() map[string]bool {
		seen := map[string]bool{}
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error { seen[p] = true; return nil })
		return seen
	}
	for golden, what := range map[string]string{"imgs": "0000.png", "sandbox": "notes.txt", ".": "imgs/0000.png", "mixed": "work/draft.md"} {
		suite := filepath.Join(dir, "suite.yaml")
		os.WriteFile(suite, []byte("images: [imgs/0000.png]\nconcepts: [dog]\ngolden: "+golden+"\n"), 0o644)
		files := before()
		code, out, errs := runMain(t, "check", suite, "--update", "--ort-lib", filepath.Join(dir, "no-such-lib.so"))
		if code != exitUsage || !strings.Contains(errs, "not a golden") || !strings.Contains(errs, what) {
			t.Errorf("golden: %s: exit %d, want 2 naming %s\n%s%s", golden, code, what, out, errs)
		}
		if after := before(); len(after) != len(files) {
			t.Errorf("golden: %s: the refused update changed the tree: %d paths before, %d after", golden, len(files), len(after))
		}
	}
	// The project's own goldens are goldens.
	if err := checkGoldenFolder("../../testdata/suite/golden"); err != nil {
		t.Errorf("testdata/suite/golden: %v", err)
	}
}

// Issue 29.18: a suite's args may hold global flags (--threads, --variant),
// not the flags the suite or check owns (-o, --format, --seed…); and check
// with a missing image ends naming a run log that still exists.
func TestCheckSuiteArgs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "imgs", "0000.png"), mustRead(t, "../../testdata/scenes/single/0000.png"))
	fixture, _ := filepath.Abs("../../testdata/fixture-model")
	suite := filepath.Join(dir, "suite.yaml")
	for _, bad := range []string{`[-o, out]`, `[--format, npy]`, `[--seed, "3"]`, `[extra.png]`, `[--thraeds, "1"]`} {
		os.WriteFile(suite, []byte("model: "+fixture+"\nimages: [imgs/0000.png]\nconcepts: [animal]\nargs: "+bad+"\ngolden: golden\n"), 0o644)
		code, out, errs := runMain(t, "check", suite, "--update", "--ort-lib", filepath.Join(dir, "no-such-lib.so"))
		if code != exitUsage || !strings.Contains(errs, suite+": args") {
			t.Errorf("args: %s: exit %d, want 2 naming the suite's args\n%s%s", bad, code, out, errs)
		}
	}
	lib := ortLibForTest(t)
	os.WriteFile(suite, []byte("model: "+fixture+"\nimages: [imgs/0000.png]\nconcepts: [animal]\nargs: [--threads, \"1\", --stride, \"96\"]\ngolden: golden\n"), 0o644)
	for _, args := range [][]string{{"--update"}, nil} {
		code, out, errs := runMain(t, append([]string{"check", suite, "--ort-lib", lib, "--cache-dir", sharedCache}, args...)...)
		if code != exitOK {
			t.Fatalf("check %v with global flags in args: exit %d\n%s%s", args, code, out, errs)
		}
	}
	os.WriteFile(suite, []byte("model: "+fixture+"\nimages: [imgs/0000.png, imgs/missing.png]\nconcepts: [animal]\nargs: [--stride, \"96\"]\ngolden: golden\n"), 0o644)
	code, _, errs := runMain(t, "check", suite, "--ort-lib", lib, "--cache-dir", sharedCache)
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	last := lines[len(lines)-1]
	kept := strings.TrimSpace(last[strings.LastIndex(last, " "):])
	if code != exitFailure || !strings.Contains(errs, "missing.png") {
		t.Fatalf("a missing image: exit %d\n%s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(kept, "convis-run.jsonl")); err != nil {
		t.Errorf("the last line %q names no run log that exists: %v", last, err)
	} else {
		os.RemoveAll(kept)
	}
}
