package ort

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/convis/convis/internal/clip"
)

const fixture = "../../../testdata/fixture-model"

// runtimeForTest loads ONNX Runtime as the CLI does. In CI (make test sets
// CONVIS_ORT_LIB) a missing library fails the test instead of skipping it.
func runtimeForTest(t *testing.T) *Runtime {
	t.Helper()
	// The library make ort fetched, unless CONVIS_ORT_LIB names one: the
	// test binary runs from a temporary folder, far from the executable
	// search of Candidates.
	lib := ""
	if os.Getenv("CONVIS_ORT_LIB") == "" {
		lib, _ = filepath.Abs("../../../.ort/" + LibraryName)
	}
	rt, err := Load(lib, 1)
	if err != nil {
		if os.Getenv("CI") != "" || os.Getenv("CONVIS_ORT_LIB") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return rt
}

type reference struct {
	Images map[string]struct {
		Embedding  []float32 `json:"embedding"`
		PixelSum   float64   `json:"pixel_sum"`
		PixelFirst []float32 `json:"pixel_first"`
	} `json:"images"`
	Texts []struct {
		Text      string    `json:"text"`
		IDs       []int32   `json:"ids"`
		Embedding []float32 `json:"embedding"`
	} `json:"texts"`
}

// TestEmbeddingsMatchPyTorch compares with the embeddings that
// scripts/make_fixture_model.py computed in PyTorch with Pillow
// preprocessing: cosine ≥ 0.999 for images, ≥ 0.9999 for texts.
func TestEmbeddingsMatchPyTorch(t *testing.T) {
	rt := runtimeForTest(t)
	raw, err := os.ReadFile(filepath.Join(fixture, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	m := loadTestModel(t, rt, fixture)
	defer m.Close()
	ctx := context.Background()
	if len(ref.Images) < 10 {
		t.Fatalf("only %d reference images", len(ref.Images))
	}
	for name, want := range ref.Images {
		im, err := clip.LoadImage(filepath.Join("../../../testdata/images", name), 0)
		if err != nil {
			t.Fatal(err)
		}
		S := m.Pre.Config.InputSize()
		px := make([]float32, 3*S*S)
		if err := m.Pre.Into(px, im); err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, v := range px {
			sum += float64(v)
		}
		// Pillow's resize is matched to the bit for 8-bit input; the sum
		// over 150,528 values allows for float32 accumulation only.
		if math.Abs(sum-want.PixelSum) > 1e-3*float64(len(px)) {
			t.Errorf("%s: pixel sum %.3f, PyTorch %.3f", name, sum, want.PixelSum)
		}
		embs, err := m.EmbedImages(ctx, []*clip.RGB{im}, 1)
		if err != nil {
			t.Fatal(err)
		}
		cos, _ := clip.Cosine(embs[0], want.Embedding)
		t.Logf("%-18s cosine %.7f, pixel sum %.2f (PyTorch %.2f)", name, cos, sum, want.PixelSum)
		if cos < 0.999 {
			t.Errorf("%s: cosine %.6f with PyTorch, want ≥ 0.999", name, cos)
		}
	}
	texts := make([]string, len(ref.Texts))
	for i, r := range ref.Texts {
		texts[i] = r.Text
	}
	embs, err := m.EmbedTexts(ctx, texts, 3) // batches mix lengths: padding must not matter
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range ref.Texts {
		cos, _ := clip.Cosine(embs[i], r.Embedding)
		if cos < 0.9999 {
			t.Errorf("text %q: cosine %.6f with PyTorch, want ≥ 0.9999", r.Text, cos)
		}
	}
}

func TestCancelledContextStopsRun(t *testing.T) {
	rt := runtimeForTest(t)
	enc, err := rt.OpenImageEncoder(filepath.Join(fixture, "onnx/vision_model.onnx"), clip.EncoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := enc.EncodeImages(ctx, make([]float32, 2*3*224*224), 2); err != context.Canceled {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestInspectDiscoversNames(t *testing.T) {
	rt := runtimeForTest(t)
	ins, outs, err := rt.Inspect(filepath.Join(fixture, "onnx/text_model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 2 || ins[0].Name != "input_ids" || outs[0].Name != "text_embeds" {
		t.Fatalf("inputs %v outputs %v", ins, outs)
	}
}

// loadTestModel opens a model folder with the runtime, failing the test on error.
func loadTestModel(t *testing.T, rt *Runtime, path string) *clip.Model {
	t.Helper()
	dir, err := clip.OpenModelDir(path, "fp32")
	if err != nil {
		t.Fatal(err)
	}
	m, err := clip.LoadModel(dir, rt)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestExternalDataModelRuns: a model whose weights are ONNX external data
// (testdata/fixture-external, made by scripts/make_external_data_fixture.py
// from the fixture) loads and gives the fixture's embeddings.
func TestExternalDataModelRuns(t *testing.T) {
	rt := runtimeForTest(t)
	inline := loadTestModel(t, rt, fixture)
	defer inline.Close()
	ext := loadTestModel(t, rt, "../../../testdata/fixture-external")
	defer ext.Close()
	ctx := context.Background()
	im, err := clip.LoadImage("../../../testdata/images/landscape.png", 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err := inline.EmbedImages(ctx, []*clip.RGB{im}, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ext.EmbedImages(ctx, []*clip.RGB{im}, 1)
	if err != nil {
		t.Fatal(err)
	}
	ta, err := inline.EmbedTexts(ctx, []string{"a dog"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := ext.EmbedTexts(ctx, []string{"a dog"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	ci, _ := clip.Cosine(a[0], b[0])
	ct, _ := clip.Cosine(ta[0], tb[0])
	if ci < 0.999999 || ct < 0.999999 {
		t.Fatalf("external-data model: image cosine %.7f, text cosine %.7f with the inline model", ci, ct)
	}
}
