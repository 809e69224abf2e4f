package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convis/convis/internal/record"
)

// copyDir copies a folder's files (a model a test changes).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		writeFile(t, filepath.Join(dst, rel), data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// runConvis runs convis in-process and returns stdout, failing on a non-zero exit.
func runConvis(t *testing.T, args ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := Main(t.Context(), args, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("convis %v: exit %d: %s", args, code, stderr.String())
	}
	return stdout.Bytes()
}

// TestExternalDataChangesHashAndResume: a model whose weights are ONNX
// external data (testdata/fixture-external): `model info` lists the data
// files and hashes them; after one byte of vision_model.onnx_data changes,
// its hash changes and a resumed batch redoes its pairs instead of
// skipping them.
func TestExternalDataChangesHashAndResume(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	model := filepath.Join(t.TempDir(), "ext")
	copyDir(t, "../../testdata/fixture-external", model)
	cache, out := t.TempDir(), t.TempDir()
	// A small word list keeps the concept index (built once per model
	// hash, so twice here) to a few dozen prompts.
	vocab := filepath.Join(t.TempDir(), "words.txt")
	writeFile(t, vocab, []byte("dog\ncat\nbanana\ncar\n"))
	info := func() (hash string, ext []string) {
		var v struct {
			Hash         string   `json:"hash"`
			ExternalData []string `json:"external_data"`
		}
		if err := json.Unmarshal(runConvis(t, "model", "info", "--json", "--ort-lib", lib, "--cache-dir", cache, model), &v); err != nil {
			t.Fatal(err)
		}
		return v.Hash, v.ExternalData
	}
	args := func(extra ...string) []string {
		return append([]string{"explain", "--model", model, "--ort-lib", lib, "--cache-dir", cache, "--vocab", vocab, "-c", "animal",
			"--stride", "96", "--refine=false", "--seeds", "1", "--format", "json", "--jsonl", "-o", out, "../../testdata/images/gray.png"}, extra...)
	}
	explain := func(extra ...string) []record.Record { return readRecords(t, runConvis(t, args(extra...)...)) }
	h1, ext := info()
	if len(ext) != 2 || ext[0] != "onnx/vision_model.onnx_data" || ext[1] != "onnx/text_weights.bin" {
		t.Fatalf("model info external_data %v", ext)
	}
	if r := explain(); len(r) != 1 || r[0].Status != record.StatusOK {
		t.Fatalf("first run: %+v", r)
	}
	if r := explain(); len(r) != 1 || r[0].Status != record.StatusSkipped {
		t.Fatalf("resumed run on the same model: %+v, want skipped", r)
	}
	data := filepath.Join(model, "onnx/vision_model.onnx_data")
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-3] ^= 1 // the last weights: the model still runs
	writeFile(t, data, b)
	later := time.Now().Add(time.Hour)
	os.Chtimes(data, later, later)
	h2, _ := info()
	if h2 == h1 {
		t.Fatal("one changed byte of vision_model.onnx_data left model info's hash unchanged")
	}
	// The resumed batch does not skip the pair: its sidecar names the old
	// model, so the run stops at it and says why; --force redoes it.
	var stdout, stderr bytes.Buffer
	if code := Main(t.Context(), args(), nil, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), "exists with other settings (model "+h1[:12]+" (fp32) → "+h2[:12]+" (fp32))") {
		t.Fatalf("resumed run after the external data changed: exit %d, %s", code, stderr.String())
	}
	if r := explain("--force"); len(r) != 1 || r[0].Status != record.StatusOK {
		t.Fatalf("--force after the external data changed: %+v, want the pair redone", r)
	}
}
