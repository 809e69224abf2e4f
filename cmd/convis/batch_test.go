package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/convis/convis/internal/record"
)

// convisCmd starts this test binary as convis (see TestMain). A process
// still running after 4 minutes is sent SIGQUIT (its goroutines go to its
// stderr) and then killed, so a hang fails the test instead of CI.
func convisCmd(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Env = append(append(os.Environ(), "CONVIS_TEST_AS_CONVIS=1"), env...)
	return cmd
}

// batchTree makes a nested tree of n scene images in three folders (a/,
// b/, b/c/) with one file name in two folders, two bad images, a text file
// and a hidden file; it returns the tree and the good images' relative paths.
// n is a multiple of 3, or both same.png may land in a/.
func batchTree(t *testing.T, n int) (string, []string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "in")
	scenes, err := filepath.Glob("../../testdata/scenes/single/*.png")
	if err != nil || len(scenes) < n {
		t.Fatalf("need %d scenes, have %d (%v)", n, len(scenes), err)
	}
	var rels []string
	for i := 0; i < n; i++ {
		dir := []string{"a", "b", "b/c"}[i*3/n]
		name := filepath.Base(scenes[i])
		if i == 0 || i == n/3 {
			name = "same.png" // a/same.png and b/same.png
		}
		rel := dir + "/" + name
		data, err := os.ReadFile(scenes[i])
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(root, rel), data)
		rels = append(rels, rel)
	}
	writeFile(t, filepath.Join(root, "a/broken.png"), []byte("not a png"))
	good, _ := os.ReadFile(scenes[0])
	writeFile(t, filepath.Join(root, "b/c/truncated.png"), good[:len(good)/3])
	writeFile(t, filepath.Join(root, "b/notes.txt"), []byte("not an image"))
	writeFile(t, filepath.Join(root, "a/.hidden.png"), good)
	sort.Strings(rels)
	return root, rels
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// batchArgs are a fast but real explain run on the fixture model: windows
// every 48 pixels (85 passes a map instead of 730).
func batchArgs(lib, cache, out string, extra ...string) []string {
	args := []string{"explain", "--model", "../../testdata/fixture-model", "--ort-lib", lib, "--cache-dir", cache,
		// A coarse grid and no refinement: these tests are about the batch
		// (records, resume, kills, shards), and the 196 refinement windows
		// per image were two thirds of their time; one canvas, not the
		// default's four, for the same reason.
		"-c", "animal", "-c", "food", "--stride", "48", "--refine=false", "--seeds", "1", "-o", out}
	return append(args, extra...)
}

func readRecords(t *testing.T, data []byte) []record.Record {
	t.Helper()
	var out []record.Record
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r record.Record
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		if r.Type == "record" {
			out = append(out, r)
		}
	}
	return out
}

// outputs reads every file under dir except run logs: relative path → bytes.
func outputs(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), "convis-run") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasSuffix(p, ".json") {
			data = withoutCacheState(t, data)
		}
		files[rel] = data
		return nil
	})
	return files
}

// withoutCacheState drops what a sidecar says of the window cache
// (window_cache, forward_passes, encoder_batches): a rerun that finds its
// windows cached makes the same files but says so.
func withoutCacheState(t *testing.T, data []byte) []byte {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("sidecar: %v", err)
	}
	for _, k := range []string{"window_cache", "forward_passes", "encoder_batches"} {
		delete(v, k)
	}
	out, _ := json.Marshal(v)
	return out
}

// warmIndex builds the fixture model's concept index once (on a cheap map:
// one canvas, a coarse grid, no refinement), so that the timed and killed
// runs below do only image work.
func warmIndex(t *testing.T, lib, cache string) {
	t.Helper()
	var stderr bytes.Buffer
	args := []string{"explain", "--model", "../../testdata/fixture-model", "--ort-lib", lib, "--cache-dir", cache, "-c", "animal", "--stride", "96", "--refine=false", "--seeds", "1", "--format", "json", "-o", t.TempDir(), "../../testdata/images/gray.png"}
	if code := Main(t.Context(), args, nil, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

// A recursive batch streams one JSON line per (image, concept) and one per
// bad file, the first before the run ends, mirrors the input tree and
// writes the run log.
func TestBatchRecursiveJSONLStreams(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	// The records, files and counts are this test's subject, not the maps:
	// the fake runtime, with a cache of its own (its embeddings must never
	// reach the shared cache under the fixture model's hash).
	cache := t.TempDir()
	root, rels := batchTree(t, 42)
	out := filepath.Join(t.TempDir(), "out")
	// Sidecars only: the annotated overlays were most of the time, and
	// every output of a pair takes the same mirrored path.
	all, stderr, code := streamed(t, convisCmd(t, []string{"CONVIS_TEST_FAKE_RUNTIME=32"}, batchArgs(lib, cache, out, root, "--recursive", "--jsonl", "--format", "json")...))
	if code != 1 {
		t.Fatalf("want exit 1 (two bad images), got %d; stderr: %s", code, stderr)
	}
	recs := readRecords(t, all)
	if want := 42*2 + 2; len(recs) != want {
		t.Fatalf("%d records, want %d (42 images × 2 concepts + 2 bad files)", len(recs), want)
	}
	ok, bad := map[string]int{}, map[string]string{}
	for _, rec := range recs {
		switch rec.Status {
		case record.StatusOK:
			ok[rec.Rel]++
			if _, err := os.Stat(rec.Outputs["json"]); err != nil {
				t.Errorf("%s: sidecar missing: %v", rec.Rel, err)
			}
		case record.StatusError:
			bad[rec.Rel] = rec.Error
		default:
			t.Errorf("unexpected record %+v", rec)
		}
	}
	for _, rel := range rels {
		if ok[rel] != 2 {
			t.Errorf("%s: %d ok records, want 2", rel, ok[rel])
		}
	}
	if len(bad) != 2 || !strings.Contains(bad["a/broken.png"], "broken.png") || !strings.Contains(bad["b/c/truncated.png"], "truncated") {
		t.Errorf("bad files: %v", bad)
	}
	for _, p := range []string{"a/same.animal.n.01.json", "b/same.animal.n.01.json", "b/c"} {
		if _, err := os.Stat(filepath.Join(out, p)); err != nil {
			t.Errorf("mirrored output %s: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "a/.hidden.animal.n.01.json")); err == nil {
		t.Error("a hidden file was explained")
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "2 of 44 images failed") || !strings.Contains(last, "convis-run.jsonl") {
		t.Errorf("last stderr line %q", last)
	}
	logRecs := readRecords(t, mustRead(t, filepath.Join(out, "convis-run.jsonl")))
	if len(logRecs) != len(recs) {
		t.Errorf("run log holds %d records, stdout %d", len(logRecs), len(recs))
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checkParses opens every output file: PNGs decode, sidecars and run logs
// are JSON, .npy files have a header and the data it announces.
func checkParses(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		if strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp") {
			return nil // a temporary file a kill left: never a result (hidden, renamed only when whole)
		}
		data := mustRead(t, p)
		switch {
		case strings.HasSuffix(name, ".png"):
			if _, err := png.Decode(bytes.NewReader(data)); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		case strings.HasSuffix(name, ".json"):
			if !json.Valid(data) {
				t.Errorf("%s: not JSON", p)
			}
		case strings.HasSuffix(name, ".jsonl"):
			// A kill may tear the last line, never another one.
			_, torn, err := record.ReadRunLogAll(p)
			if err != nil {
				t.Errorf("%s: %v", p, err)
			}
			for _, tl := range torn {
				if tl.Line != bytes.Count(data, []byte("\n"))+1 || bytes.HasSuffix(data, []byte("\n")) {
					t.Errorf("%s", tl)
				}
			}
		case strings.HasSuffix(name, ".npy"):
			hl := int(data[8]) | int(data[9])<<8
			if !bytes.HasPrefix(data, []byte("\x93NUMPY")) || len(data) <= 10+hl {
				t.Errorf("%s: not a whole .npy", p)
			}
		default:
			t.Errorf("unexpected file %s", p)
		}
		return nil
	})
}

// A run killed with SIGKILL leaves only whole files; the rerun skips the
// pairs done (their files untouched), makes the rest, and the outputs equal
// an uninterrupted run's byte for byte.
func TestBatchKillAndResume(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	cache := sharedCache
	warmIndex(t, lib, cache)
	// 15 images, 30 pairs: the kill after 11 records leaves work for the
	// rerun (24 images made the same test longer, not stronger).
	root, _ := batchTree(t, 15)
	os.Remove(filepath.Join(root, "a/broken.png"))
	os.Remove(filepath.Join(root, "b/c/truncated.png"))
	full := filepath.Join(t.TempDir(), "full")
	if out, err := convisCmd(t, nil, batchArgs(lib, cache, full, root, "-r", "--jsonl")...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	out := filepath.Join(t.TempDir(), "out")
	cmd := convisCmd(t, nil, batchArgs(lib, cache, out, root, "-r", "--jsonl")...)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	var before []record.Record
	for len(before) < 11 {
		line, err := r.ReadBytes('\n')
		if err != nil {
			t.Fatalf("run ended early: %v", err)
		}
		before = append(before, readRecords(t, line)...)
	}
	cmd.Process.Kill() // SIGKILL, mid-image
	cmd.Wait()
	checkParses(t, out)
	mtimes := map[string]time.Time{}
	for _, rec := range before {
		for _, p := range rec.Outputs {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatalf("output of a reported record missing: %v", err)
			}
			mtimes[p] = st.ModTime()
		}
	}
	time.Sleep(20 * time.Millisecond) // a rewrite would show in the mtime
	rerun, err := convisCmd(t, nil, batchArgs(lib, cache, out, root, "-r", "--jsonl")...).Output()
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	recs := readRecords(t, rerun)
	status := map[string]string{}
	for _, rec := range recs {
		status[rec.Rel+" "+rec.Concept] = rec.Status
	}
	for _, rec := range before {
		if s := status[rec.Rel+" "+rec.Concept]; s != record.StatusSkipped {
			t.Errorf("%s %s done before the kill, rerun says %q", rec.Rel, rec.Concept, s)
		}
	}
	// Pairs finished between the last line read and the kill are skipped too.
	made, skipped := 0, 0
	for _, s := range status {
		switch s {
		case record.StatusOK:
			made++
		case record.StatusSkipped:
			skipped++
		}
	}
	if len(status) != 30 || made+skipped != 30 || made == 0 || skipped < len(before) {
		t.Errorf("rerun: %d records, %d made, %d skipped; want 30 records, %d or more skipped, the rest made", len(status), made, skipped, len(before))
	}
	for p, mt := range mtimes {
		if st, _ := os.Stat(p); !st.ModTime().Equal(mt) {
			t.Errorf("%s was rewritten by the rerun", p)
		}
	}
	a, b := outputs(t, full), outputs(t, out)
	for name := range b {
		if strings.HasSuffix(name, ".tmp") {
			delete(b, name)
		}
	}
	if len(a) != len(b) {
		t.Fatalf("%d files after resume, %d in an uninterrupted run", len(b), len(a))
	}
	for name, data := range a {
		want := bytes.ReplaceAll(data, []byte(full), []byte(out))
		if !bytes.Equal(b[name], want) {
			t.Errorf("%s differs from the uninterrupted run", name)
		}
	}
}

// Three processes with --shard 0/3, 1/3 and 2/3 into one folder explain
// exactly the images of one run, each once, with byte-identical maps; and
// runs summary over the folder counts what a single run does.
func TestBatchShards(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	cache := sharedCache
	warmIndex(t, lib, cache)
	// 15 images (and the two bad files) over three shards: each shard
	// takes some, as the test checks.
	root, rels := batchTree(t, 15)
	single := filepath.Join(t.TempDir(), "single")
	convisCmd(t, nil, batchArgs(lib, cache, single, root, "-r", "--jsonl")...).Run() // exit 1: the bad files
	shared := filepath.Join(t.TempDir(), "shared")
	var cmds []*exec.Cmd
	outs := make([]*bytes.Buffer, 3)
	for k := 0; k < 3; k++ {
		outs[k] = new(bytes.Buffer)
		env := []string{fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", k), "SLURM_ARRAY_TASK_COUNT=3"}
		shard := "auto"
		if k == 2 {
			env = []string{"JOB_COMPLETION_INDEX=2", "CONVIS_SHARDS=3"}
		}
		if k == 0 {
			env, shard = nil, "0/3"
		}
		c := convisCmd(t, env, batchArgs(lib, cache, shared, root, "-r", "--jsonl", "--shard", shard)...)
		c.Stdout = outs[k]
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	for _, c := range cmds {
		c.Wait()
	}
	seen := map[string]int{}
	for k := 0; k < 3; k++ {
		images := map[string]bool{}
		for _, rec := range readRecords(t, outs[k].Bytes()) {
			images[rec.Rel] = true
		}
		if len(images) == 0 {
			t.Errorf("shard %d took no image", k)
		}
		for rel := range images {
			seen[rel]++
		}
		if _, err := os.Stat(filepath.Join(shared, fmt.Sprintf("convis-run.%d-of-3.jsonl", k))); err != nil {
			t.Errorf("shard %d's run log: %v", k, err)
		}
	}
	for _, rel := range append(rels, "a/broken.png", "b/c/truncated.png") {
		if seen[rel] != 1 {
			t.Errorf("%s explained by %d shards, want 1", rel, seen[rel])
		}
	}
	if len(seen) != len(rels)+2 {
		t.Errorf("shards took %d images, want %d", len(seen), len(rels)+2)
	}
	sameAsOneRun(t, single, shared)
	var one, merged bytes.Buffer
	Main(t.Context(), []string{"runs", "summary", single, "--json"}, nil, &one, os.Stderr)
	Main(t.Context(), []string{"runs", "summary", shared, "--json"}, nil, &merged, os.Stderr)
	var s1, s2 record.Summary
	if err := json.Unmarshal(one.Bytes(), &s1); err != nil {
		t.Fatalf("summary: %v: %s", err, one.String())
	}
	json.Unmarshal(merged.Bytes(), &s2)
	if s1.Images != s2.Images || s1.Done != s2.Done || s1.Failed != s2.Failed || s1.Pairs != s2.Pairs || s1.Done != 2*len(rels) || s1.Failed != 2 {
		t.Errorf("summary of one run %+v, of the shards %+v", s1, s2)
	}
	if s2.Runs != 3 || len(s2.Logs) != 3 {
		t.Errorf("merged %d logs of %d runs, want 3", len(s2.Logs), s2.Runs)
	}
}

// sameAsOneRun checks that shards wrote into shared the files one run
// wrote into single, byte for byte (sidecars name their own folder).
func sameAsOneRun(t *testing.T, single, shared string) {
	t.Helper()
	a, b := outputs(t, single), outputs(t, shared)
	if len(a) != len(b) {
		t.Errorf("%d files from the shards, %d from one run", len(b), len(a))
	}
	for name, data := range a {
		if strings.HasSuffix(name, ".json") {
			data = bytes.ReplaceAll(data, []byte(single), []byte(shared))
		}
		if !bytes.Equal(b[name], data) {
			t.Errorf("%s differs between the shards and one run", name)
		}
	}
}

// docs/batch.md shows the Slurm script and the Kubernetes manifest that
// docs/convis-array.sbatch and docs/convis-job.yaml hold: the copies agree.
func TestBatchDocsMatchTheirFiles(t *testing.T) {
	doc := string(mustRead(t, "../../docs/batch.md"))
	for _, f := range []struct{ fence, file string }{{"```bash\n", "convis-array.sbatch"}, {"```yaml\n", "convis-job.yaml"}} {
		file := string(mustRead(t, "../../docs/"+f.file))
		if !strings.Contains(doc, f.fence+file+"```") {
			t.Errorf("docs/batch.md does not show docs/%s as it is", f.file)
		}
	}
}

// Regression (issue 20.1): a 200000×16 PNG (3.2 MP, under --max-pixels)
// once took the batch down with an out-of-memory error. Now it is reported
// in one line and the other image is explained; the process's peak memory
// stays that of a normal run.
func TestBatchSurvivesAThinImage(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 200000, 16))); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "thin.png"), buf.Bytes())
	writeFile(t, filepath.Join(dir, "scene.png"), mustRead(t, "../../testdata/images/gray.png"))
	out := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	cmd := convisCmd(t, nil, "explain", "--model", "../../testdata/fixture-model", "--ort-lib", lib, "--cache-dir", sharedCache,
		"-c", "dog", "--stride", "48", "-o", out, filepath.Join(dir, "thin.png"), filepath.Join(dir, "scene.png"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("want exit 1, got %v: %s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	thin := 0
	for _, l := range lines {
		if strings.Contains(l, "thin.png") && strings.Contains(l, "too elongated") {
			thin++
		}
	}
	if thin != 1 {
		t.Errorf("want one line about thin.png, stderr:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(out, "scene.dog.n.01.json")); err != nil {
		t.Errorf("the normal image was not explained: %v", err)
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
	t.Logf("peak RSS with the thin image in the batch: %.0f MB", float64(rss)/1e6)
	if rss > 1<<30 {
		t.Errorf("peak RSS %.0f MB: the thin image is not bounded", float64(rss)/1e6)
	}
}

// Ctrl-C (SIGINT) stops a batch after the files being written, leaves every
// file whole, ends the run log with "interrupted", and exits 130.
func TestBatchInterrupt(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	warmIndex(t, lib, sharedCache)
	root, _ := batchTree(t, 12)
	out := filepath.Join(t.TempDir(), "out")
	cmd := convisCmd(t, nil, batchArgs(lib, sharedCache, out, root, "-r", "--jsonl")...)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(stdout).ReadBytes('\n'); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("want exit 130, got %v: %s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted after") {
		t.Errorf("stderr: %s", stderr.String())
	}
	checkParses(t, out)
	entries, err := record.ReadRunLog(filepath.Join(out, "convis-run.jsonl"))
	if err != nil || len(entries) == 0 || entries[len(entries)-1].Footer == nil || entries[len(entries)-1].Footer.Stopped != "interrupted" {
		t.Errorf("run log does not end with an interrupted footer: %v", err)
	}
}

// convis score streams one JSON line per (image, concept), the first while
// the run goes on; bad images are reported and the others scored.
func TestScoreStreams(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	warmIndex(t, lib, sharedCache)
	dir := t.TempDir()
	data := mustRead(t, "../../testdata/images/gray.png")
	for i := 0; i < 300; i++ {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("d%d/%03d.png", i%3, i)), data)
	}
	writeFile(t, filepath.Join(dir, "d1/bad.png"), []byte("not a png"))
	all, stderr, code := streamed(t, convisCmd(t, nil, "score", dir, "-r", "-c", "animal,food", "--jsonl", "--model", "../../testdata/fixture-model", "--ort-lib", lib, "--cache-dir", sharedCache))
	if code != 1 {
		t.Fatalf("want exit 1 (one bad image), got %d", code)
	}
	lines := bytes.Split(bytes.TrimSpace(all), []byte("\n"))
	ok, bad := 0, 0
	for _, l := range lines {
		var rec struct {
			Status  string   `json:"status"`
			Concept string   `json:"concept"`
			Score   *float64 `json:"score"`
			Rank    *int     `json:"rank"`
		}
		if err := json.Unmarshal(l, &rec); err != nil {
			t.Fatal(err)
		}
		switch {
		case rec.Status == "ok" && rec.Score != nil && rec.Rank != nil && float64(-*rec.Rank) == *rec.Score:
			ok++
		case rec.Status == "error":
			bad++
		default:
			t.Errorf("record %s", l)
		}
	}
	if ok != 600 || bad != 1 || !strings.Contains(stderr, "bad.png") {
		t.Errorf("%d scores, %d errors (want 600 and 1); stderr %s", ok, bad, stderr)
	}
}

// streamed runs a command that streams lines on stdout and checks that its
// first line arrives while it still runs; it returns all of stdout, stderr
// and the exit status.
func streamed(t *testing.T, cmd *exec.Cmd) ([]byte, string, int) {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	first, err := r.ReadBytes('\n')
	if err != nil {
		t.Fatalf("no first line: %v; stderr: %s", err, stderr.String())
	}
	// The process must still be running when the first line arrives.
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the run had ended before its first line was read: %v", err)
	}
	rest := new(bytes.Buffer)
	rest.ReadFrom(r)
	code := 0
	if err := cmd.Wait(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	return append(first, rest.Bytes()...), stderr.String(), code
}
