package ort

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/models"
)

// The shipped convis-tiny model gives, under ONNX Runtime with convis's
// preprocessing, the embeddings PyTorch gave at export time
// (models/convis-tiny/reference.json, written by export.py): cosine ≥ 0.9999.
func TestBuiltinModelMatchesPyTorch(t *testing.T) {
	rt := runtimeForTest(t)
	raw, err := os.ReadFile("../../../models/convis-tiny/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Images map[string][]float32 `json:"images"`
		Texts  []struct {
			Text      string    `json:"text"`
			Embedding []float32 `json:"embedding"`
		} `json:"texts"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	dirPath, _, err := models.ExtractBuiltin(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := loadTestModel(t, rt, dirPath)
	defer m.Close()
	ctx := context.Background()
	for name, want := range ref.Images {
		im, err := clip.LoadImage(filepath.Join("../../../testdata/scenes", name), 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.EmbedImages(ctx, []*clip.RGB{im}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if cos, _ := clip.Cosine(got[0], want); cos < 0.9999 {
			t.Errorf("%s: cosine %.6f with PyTorch", name, cos)
		}
	}
	for _, r := range ref.Texts {
		got, err := m.EmbedTexts(ctx, []string{r.Text}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if cos, _ := clip.Cosine(got[0], r.Embedding); cos < 0.9999 {
			t.Errorf("text %q: cosine %.6f with PyTorch", r.Text, cos)
		}
	}
	if len(ref.Images) < 4 || len(ref.Texts) < 4 {
		t.Fatal("reference too small")
	}
}
