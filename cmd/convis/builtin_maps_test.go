package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/convis/convis/internal/evaluate"
)

// A saliency regression test on the built-in model: grid ConVis maps of
// held-out benchmark scenes (seeds never used in training) must put their
// peak on the named object — the pointing game, with the 15-pixel
// tolerance — far more often than a centre prior does. The floors sit well
// below what the shipped model scores (docs/evaluation.md), so that only a
// real regression in the saliency pipeline or the model fails them.
func TestBuiltinModelMapsLandOnObjects(t *testing.T) {
	if testing.Short() {
		t.Skip("computes 16 grid maps")
	}
	lib := ortLibForTest(t)
	man := benchmarkManifest(t)
	// The first 8 single-object and the first 8 multi-object scenes.
	dir := t.TempDir()
	scenes, _ := filepath.Abs("../../testdata/scenes")
	var subset evaluate.Manifest
	singles, multis := 0, 0
	for _, im := range man.Images {
		if len(im.Objects) == 1 && singles < 8 {
			singles++
		} else if len(im.Objects) > 1 && multis < 8 {
			multis++
		} else {
			continue
		}
		rel, err := filepath.Rel(dir, filepath.Join(scenes, im.File))
		if err != nil {
			t.Fatal(err)
		}
		im.File = rel
		subset.Images = append(subset.Images, im)
	}
	data, _ := json.Marshal(subset)
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"eval", "localization", dir, "--method", "grid,center", "--json", "--ort-lib", lib,
		"--cache-dir", sharedCache}
	if code := Main(context.Background(), args, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var report struct {
		Results []evaluate.Row `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatal(err)
	}
	pg := map[string]float64{}
	for _, r := range report.Results {
		pg[r.Method] = r.Pointing.Mean
		t.Logf("%s: %d samples, pointing game %.3f, MaxBoxAcc %.3f", r.Method, r.Samples, r.Pointing.Mean, r.MaxBoxAcc.Mean)
	}
	if pg["grid"] < minBuiltinPointing {
		t.Errorf("grid pointing game %.3f, want ≥ %.2f", pg["grid"], minBuiltinPointing)
	}
	if pg["grid"] < pg["center"]+0.2 {
		t.Errorf("grid pointing game %.3f is not clearly above the centre prior's %.3f", pg["grid"], pg["center"])
	}
}

const minBuiltinPointing = 0.8

// benchmarkManifest is testdata/scenes/manifest.json.
func benchmarkManifest(t *testing.T) evaluate.Manifest {
	t.Helper()
	raw, err := os.ReadFile("../../testdata/scenes/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var man evaluate.Manifest
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatal(err)
	}
	return man
}
