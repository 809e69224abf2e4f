package pipeline

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/convis/convis/internal/atomicfile"
	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/clip/cliptest"
	"github.com/convis/convis/internal/record"
	"github.com/convis/convis/internal/saliency"
	"github.com/convis/convis/internal/wordnet"
)

func touch(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func rels(jobs []Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.Rel+"→"+j.Stem)
	}
	return out
}

func TestExpandMirrorsTheTree(t *testing.T) {
	root := t.TempDir()
	in := filepath.Join(root, "in")
	for _, p := range []string{"a/x.png", "b/x.png", "b/c/y.JPG", "b/x.jpg", "a/.hidden.png", ".git/z.png", "a/notes.txt"} {
		touch(t, filepath.Join(in, p), nil)
	}
	// A link loop: in/b/c/loop → in/b.
	if err := os.Symlink(filepath.Join(in, "b"), filepath.Join(in, "b/c/loop")); err != nil {
		t.Fatal(err)
	}
	jobs, stats, err := Expand([]string{in}, InputOptions{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a/x.png→a/x", "b/c/y.JPG→b/c/y", "b/x.jpg→b/x.jpg", "b/x.png→b/x.png"}
	if got := rels(jobs); !reflect.DeepEqual(got, want) {
		t.Errorf("recursive: %v, want %v", got, want)
	}
	if stats.NonImage != 1 || stats.Hidden != 2 {
		t.Errorf("stats %+v, want 1 non-image and 2 hidden", stats)
	}
	// Not recursive: the folder's own images only.
	jobs, _, _ = Expand([]string{filepath.Join(in, "b")}, InputOptions{})
	if got := rels(jobs); !reflect.DeepEqual(got, []string{"x.jpg→x.jpg", "x.png→x.png"}) {
		t.Errorf("flat: %v", got)
	}
	if _, st, _ := Expand([]string{in}, InputOptions{}); st.Folders != 2 {
		t.Errorf("flat: %d subfolders counted, want 2 (a, b)", st.Folders)
	}
	// Listed files: relative to their common folder, whatever else is listed.
	jobs, _, _ = Expand([]string{filepath.Join(in, "a/x.png"), filepath.Join(in, "b/x.png"), filepath.Join(in, "a/x.png")}, InputOptions{})
	if got := rels(jobs); !reflect.DeepEqual(got, []string{"a/x.png→a/x", "b/x.png→b/x"}) {
		t.Errorf("listed: %v", got)
	}
	// A missing file stays, to be reported.
	jobs, _, _ = Expand([]string{filepath.Join(in, "nope.png")}, InputOptions{})
	if len(jobs) != 1 || jobs[0].Rel != "nope.png" {
		t.Errorf("missing: %v", rels(jobs))
	}
}

func TestListFile(t *testing.T) {
	got, err := ListFile(context.Background(), "-", strings.NewReader("a.png\n\n# comment\nb c.png\r\n"))
	if err != nil || !reflect.DeepEqual(got, []string{"a.png", "b c.png"}) {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := ListFile(context.Background(), filepath.Join(t.TempDir(), "none"), nil); err == nil || !strings.Contains(err.Error(), "--from-file") {
		t.Fatalf("want an error naming --from-file, got %v", err)
	}
}

func TestShardsAreDisjointAndCover(t *testing.T) {
	var jobs []Job
	for i := 0; i < 1000; i++ {
		jobs = append(jobs, Job{Rel: fmt.Sprintf("d%d/img%04d.png", i%7, i)})
	}
	for _, n := range []int{1, 2, 3, 8} {
		seen := map[string]int{}
		for k := 0; k < n; k++ {
			part := Shard{k, n}.Select(jobs)
			if n > 1 && (len(part) < 1000/n/2 || len(part) > 2*1000/n) {
				t.Errorf("shard %d/%d has %d of 1000 jobs: unbalanced", k, n, len(part))
			}
			for _, j := range part {
				seen[j.Rel]++
			}
		}
		if len(seen) != 1000 {
			t.Errorf("N=%d covers %d of 1000", n, len(seen))
		}
		for rel, c := range seen {
			if c != 1 {
				t.Fatalf("N=%d: %s in %d shards", n, rel, c)
			}
		}
	}
	// Stable: a fixed path always lands in the same shard (FNV-1a of the path).
	if !(Shard{K: 1, N: 3}).Has("a/x.png") && !(Shard{K: 0, N: 3}).Has("a/x.png") && !(Shard{K: 2, N: 3}).Has("a/x.png") {
		t.Fatal("no shard has a/x.png")
	}
}

func TestParseShard(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cases := []struct {
		arg  string
		env  func(string) string
		want Shard
		err  string
	}{
		{"", env(), Whole, ""},
		{"2/5", env(), Shard{2, 5}, ""},
		{"5/5", env(), Shard{}, "0 ≤ K < N"},
		{"x", env(), Shard{}, "want K/N"},
		{"auto", env("SLURM_ARRAY_TASK_ID", "3", "SLURM_ARRAY_TASK_COUNT", "4"), Shard{3, 4}, ""},
		{"auto", env("SLURM_ARRAY_TASK_ID", "5", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_MAX", "8"), Shard{4, 8}, ""},
		{"auto", env("SLURM_ARRAY_TASK_ID", "5", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_COUNT", "8"), Shard{4, 8}, ""},
		{"auto", env("SLURM_ARRAY_TASK_ID", "3"), Shard{}, "neither SLURM_ARRAY_TASK_COUNT"},
		// Regression (issue 29.15): --array=0-6:2 ran shards 0 and 2 of 4
		// and never 1 and 3; stepped or gapped arrays are refused.
		{"auto", env("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_COUNT", "4", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "6", "SLURM_ARRAY_TASK_STEP", "2"), Shard{}, "stepped Slurm array"},
		{"auto", env("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_COUNT", "4", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "6", "SLURM_ARRAY_TASK_STEP", "2", "CONVIS_SHARDS", "4"), Shard{}, "stepped Slurm array"},
		{"auto", env("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_COUNT", "3", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "4"), Shard{}, "not contiguous"},
		{"auto", env("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_COUNT", "4", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "3", "SLURM_ARRAY_TASK_STEP", "1"), Shard{2, 4}, ""},
		// A task resubmitted alone (--array=2) keeps its part with CONVIS_SHARDS.
		{"auto", env("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_COUNT", "1", "SLURM_ARRAY_TASK_MIN", "2", "CONVIS_SHARDS", "3"), Shard{2, 3}, ""},
		{"auto", env("JOB_COMPLETION_INDEX", "1", "CONVIS_SHARDS", "3"), Shard{1, 3}, ""},
		{"auto", env("JOB_COMPLETION_INDEX", "1"), Shard{}, "CONVIS_SHARDS is not"},
		{"auto", env("JOB_COMPLETION_INDEX", "4", "CONVIS_SHARDS", "3"), Shard{}, "outside"},
		{"auto", env(), Shard{}, "neither a Slurm array task"},
	}
	for _, c := range cases {
		got, err := ParseShard(c.arg, c.env)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.arg, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %v %v, want %v", c.arg, got, err, c.want)
		}
	}
}

// Regression (issue 20.9): synsets such as read/write_head.n.01 made every
// image fail; their names are escaped in file names.
func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{"dog.n.01": "dog.n.01", "read/write_head.n.01": "read%2Fwrite_head.n.01", "24/7.n.01": "24%2F7.n.01", "100%.n.01": "100%25.n.01"} {
		if got := SafeName(in); got != want {
			t.Errorf("SafeName(%q) = %q, want %q", in, got, want)
		}
	}
}

// runnerFixture is a Runner on a fake encoder, with one image on disk.
func runnerFixture(t *testing.T, concepts ...string) (*Runner, []Job, *cliptest.Encoder) {
	t.Helper()
	db := wordnet.MustLoad()
	h, err := db.LoadHierarchy(wordnet.VocabWordNet)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := saliency.BuildIndex(context.Background(), h, saliency.PromptDefinitions, cliptest.Texts(8), 4096, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cs []saliency.Concept
	for _, name := range concepts {
		s, ok := db.ByName(name)
		if !ok {
			t.Fatalf("no synset %s", name)
		}
		c, err := ix.Concept(name, s)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	enc := cliptest.NewEncoder(8)
	pre := clip.NewPreprocessor(clip.PreprocessConfig{DoConvertRGB: true, DoResize: true, ShortestEdge: 224, Resample: 3,
		DoCenterCrop: true, CropW: 224, CropH: 224, DoRescale: true, RescaleFactor: 1.0 / 255, DoNormalize: true,
		Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.25, 0.25, 0.25}})
	p := saliency.DefaultParams()
	p.Stride = 96 // a few windows: the test is about files, not maps
	dir := t.TempDir()
	var jobs []Job
	r := rand.New(rand.NewPCG(1, 1))
	for _, name := range []string{"one.png", "two.png"} {
		im := image.NewNRGBA(image.Rect(0, 0, 40, 30))
		for i := range im.Pix {
			im.Pix[i] = uint8(r.IntN(256))
		}
		f, _ := os.Create(filepath.Join(dir, name))
		png.Encode(f, im)
		f.Close()
		jobs = append(jobs, Job{Path: filepath.Join(dir, name), Rel: name, Stem: strings.TrimSuffix(name, ".png")})
	}
	run := &Runner{
		Explainer: &saliency.Explainer{Encoder: enc, Pre: pre, Index: ix}, Concepts: cs,
		Model: record.ModelInfo{Path: "fake", SHA256: "f00d", Variant: "fp32"}, Vocab: h.Vocab, VocabSize: h.Len(), Prompts: "definitions",
		Settings: Settings{Params: p, Threshold: 0.7, Formats: AllFormats, Style: "heatmap", Colormap: "turbo", Alpha: 0.5, Exponent: 10},
		OutDir:   t.TempDir(), Prefetch: 1,
	}
	return run, jobs, enc
}

func TestRunnerWritesEscapedNames(t *testing.T) {
	run, jobs, _ := runnerFixture(t, "read/write_head.n.01")
	tot, err := run.Run(context.Background(), jobs[:1], nil)
	if err != nil || tot.Failed != 0 {
		t.Fatalf("%+v %v", tot, err)
	}
	if _, err := record.ReadSidecar(filepath.Join(run.OutDir, "one.read%2Fwrite_head.n.01.json")); err != nil {
		t.Fatal(err)
	}
}

// Regression (issues 16.5, 20): an output that cannot be written fails
// that image with one line, leaves no file behind, and the batch goes on
// (or stops, with FailFast).
func TestRunnerGoesOnPastAFailingWriter(t *testing.T) {
	run, jobs, _ := runnerFixture(t, "dog.n.01")
	run.Stage = func(path string, write func(io.Writer) error) (*atomicfile.Pending, error) {
		if strings.Contains(path, "one.") && strings.HasSuffix(path, ".map.npy") {
			return atomicfile.Stage(path, func(w io.Writer) error {
				write(w)
				return fmt.Errorf("no space left on device")
			})
		}
		return atomicfile.Stage(path, write)
	}
	var recs []record.Record
	tot, err := run.Run(context.Background(), jobs, func(r record.Record) error { recs = append(recs, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if tot.Failed != 1 || len(recs) != 2 || recs[0].Status != record.StatusError || recs[1].Status != record.StatusOK {
		t.Fatalf("totals %+v, records %+v", tot, recs)
	}
	if !strings.Contains(recs[0].Error, "one.dog.n.01.map.npy") || !strings.Contains(recs[0].Error, "no space left") || strings.Contains(recs[0].Error, "\n") {
		t.Errorf("error %q", recs[0].Error)
	}
	entries, _ := os.ReadDir(run.OutDir)
	for _, e := range entries {
		// The whole pair is absent: the overlay staged before the npy too.
		if strings.HasPrefix(e.Name(), "one.dog.n.01.") || strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	run.FailFast = true
	run.Force = true
	recs = nil
	if _, err := run.Run(context.Background(), jobs, func(r record.Record) error { recs = append(recs, r); return nil }); !errors.Is(err, ErrFailFast) || len(recs) != 1 {
		t.Fatalf("fail-fast: %v after %d records", err, len(recs))
	}
}

// A rerun skips pairs whose sidecar matches, without encoding; a touched
// input with the same content is still skipped; changed content is redone.
func TestRunnerResume(t *testing.T) {
	run, jobs, enc := runnerFixture(t, "dog.n.01", "cat.n.01")
	if _, err := run.Run(context.Background(), jobs, nil); err != nil {
		t.Fatal(err)
	}
	passes := enc.Passes()
	var recs []record.Record
	tot, _ := run.Run(context.Background(), jobs, func(r record.Record) error { recs = append(recs, r); return nil })
	if enc.Passes() != passes || tot.Skipped != 2 || tot.Records[record.StatusSkipped] != 4 {
		t.Fatalf("rerun encoded %d windows, totals %+v", enc.Passes()-passes, tot)
	}
	data, _ := os.ReadFile(jobs[0].Path)
	os.WriteFile(jobs[0].Path, data, 0o644) // new mtime, same content
	os.Remove(filepath.Join(run.OutDir, "two.cat.n.01.map.npy"))
	tot, _ = run.Run(context.Background(), jobs, nil)
	if tot.Records[record.StatusSkipped] != 3 || tot.Records[record.StatusOK] != 1 {
		t.Fatalf("after touch and a lost file: %+v", tot)
	}
}

func TestSummaryMergesLatest(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenRunLog(dir, Shard{0, 2}, record.Header{})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(record.Record{Type: "record", Status: record.StatusError, Rel: "a.png", Method: "grid", Error: "corrupt"})
	l.Append(record.Record{Type: "record", Status: record.StatusOK, Rel: "b.png", Concept: "dog.n.01", Method: "grid", Passes: 730, Timings: map[string]float64{"explain": 100}})
	l.Close()
	l, _ = OpenRunLog(dir, Shard{1, 2}, record.Header{})
	l.Append(record.Record{Type: "record", Status: record.StatusOK, Rel: "c.png", Concept: "dog.n.01", Method: "grid", Passes: 730, Timings: map[string]float64{"explain": 300}})
	l.Close()
	// A rerun of shard 0 after a.png was fixed.
	l, _ = OpenRunLog(dir, Shard{0, 2}, record.Header{})
	l.Append(record.Record{Type: "record", Status: record.StatusOK, Rel: "a.png", Concept: "dog.n.01", Method: "grid", Passes: 730, Timings: map[string]float64{"explain": 200}})
	l.Append(record.Record{Type: "record", Status: record.StatusSkipped, Rel: "b.png", Concept: "dog.n.01", Method: "grid"})
	l.Close()
	f, _ := os.OpenFile(RunLogPath(dir, Shard{1, 2}), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"type":"record","status":"ok","rel`) // a killed run's partial line
	f.Close()
	s, err := record.Summarize([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if s.Images != 3 || s.Failed != 0 || s.Done != 3 || s.OK != 2 || s.Skipped != 1 || s.Runs != 3 || s.MSPerImg != 200 {
		t.Errorf("summary %+v", s)
	}
	var csv strings.Builder
	s.WriteCSV(&csv)
	if lines := strings.Count(csv.String(), "\n"); lines != 4 {
		t.Errorf("CSV has %d lines:\n%s", lines, csv.String())
	}
}
