package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convis/convis/internal/faithfulness"
)

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// eval faithfulness on a folder of one scene and one broken file, with
// the built-in model: every method gets its row and curves of --steps+1
// points in [0, 1]; the broken file is reported, counted and the exit
// status is 1.
func TestEvalFaithfulnessFolder(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	dir := t.TempDir()
	copyFile(t, "../../testdata/scenes/single/0000.png", filepath.Join(dir, "a.png"))
	os.WriteFile(filepath.Join(dir, "b.png"), []byte("not a png"), 0o644)
	var stdout, stderr bytes.Buffer
	args := []string{"eval", "faithfulness", dir, "-c", "animal.n.01", "--method", "grid,random,center", "--steps", "4",
		"--json", "--ort-lib", lib, "--cache-dir", sharedCache, "--log-level", "error"}
	if code := Main(t.Context(), args, nil, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1 (one broken image): %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "b.png") || !strings.Contains(stderr.String(), "1 of 2 images failed") {
		t.Errorf("stderr does not name the broken image and the count: %s", stderr.String())
	}
	var res struct {
		Images  int                    `json:"images"`
		Failed  int                    `json:"failed"`
		Steps   int                    `json:"steps"`
		Results []faithfulness.Summary `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("output %s: %v", stdout.String(), err)
	}
	if res.Images != 1 || res.Failed != 1 || len(res.Results) != 3 {
		t.Fatalf("images %d, failed %d, rows %d", res.Images, res.Failed, len(res.Results))
	}
	for _, r := range res.Results {
		if len(r.DeletionCurve) != 5 || r.Samples != 1 {
			t.Errorf("%s: %d points, %d samples", r.Method, len(r.DeletionCurve), r.Samples)
		}
		for _, v := range append(append([]float64{}, r.DeletionCurve...), r.InsertionCurve...) {
			if v < 0 || v > 1 {
				t.Errorf("%s: score %g outside [0, 1]", r.Method, v)
			}
		}
		// Both curves join the image's score and the fully removed image's.
		if r.DeletionCurve[0] != r.InsertionCurve[4] || r.DeletionCurve[4] != r.InsertionCurve[0] {
			t.Errorf("%s: curve ends differ: %v %v", r.Method, r.DeletionCurve, r.InsertionCurve)
		}
		if r.DeletionAUC.Lo > r.DeletionAUC.Value || r.DeletionAUC.Hi < r.DeletionAUC.Value {
			t.Errorf("%s: interval %+v", r.Method, r.DeletionAUC)
		}
	}
}

// eval sanity against a "randomised" copy that is the model itself: every
// method's maps are the original's (Spearman and SSIM 1), and the prompt
// shuffle moves the grid map. A broken image beside it is reported,
// counted and adds no sample; the exit status is 1.
func TestEvalSanityIdenticalCopy(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	g := &globalOptions{CacheDir: sharedCache, Stderr: io.Discard, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), builtinNoted: true}
	model, err := resolveModelDir(g)
	if err != nil {
		t.Fatal(err)
	}
	copies := t.TempDir()
	for _, f := range []string{"config.json", "preprocessor_config.json", "onnx/vision_model.onnx", "onnx/text_model.onnx"} {
		copyFile(t, filepath.Join(model, f), filepath.Join(copies, "k1", "model", f))
	}
	dir := t.TempDir()
	copyFile(t, "../../testdata/scenes/single/0000.png", filepath.Join(dir, "a.png"))
	if err := os.WriteFile(filepath.Join(dir, "b.png"), []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"eval", "sanity", dir, "-c", "animal.n.01", "--method", "grid,occlusion", "--blocks", "1", "--copies", copies,
		"--tool", "false", "--json", "--ort-lib", lib, "--cache-dir", sharedCache, "--log-level", "error"}
	if code := Main(t.Context(), args, nil, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1 (one broken image): %s", code, stderr.String())
	}
	if n := strings.Count(stderr.String(), "b.png"); n != 1 || !strings.Contains(stderr.String(), "1 of 2 images failed") {
		t.Errorf("stderr names the broken image %d times (want once) or lacks the count: %s", n, stderr.String())
	}
	var res struct {
		Failed  int         `json:"failed"`
		Results []SanityRow `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || len(res.Results) != 4 || res.Failed != 1 {
		t.Fatalf("output %s: %v", stdout.String(), err)
	}
	for _, r := range res.Results {
		if r.Samples != 1 {
			t.Errorf("%s %s: %d samples, want 1 (the broken image adds none)", r.Method, r.Randomized, r.Samples)
		}
		switch {
		case r.Randomized == "1" && (r.Spearman.Value < 0.999999 || r.SSIM.Value < 0.999999):
			t.Errorf("%s on an identical copy: Spearman %g, SSIM %g", r.Method, r.Spearman.Value, r.SSIM.Value)
		case r.Randomized == "text-shuffled" && r.Method == "grid" && r.Spearman.Value > 0.99:
			t.Errorf("grid with shuffled prompts: Spearman %g", r.Spearman.Value)
		}
	}
}
