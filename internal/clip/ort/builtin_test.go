package ort

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/saliency"
	"github.com/convis/convis/internal/wordnet"
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
	m := loadBuiltinModel(t, rt)
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

// The model card's recognition metrics, measured through convis's own
// pipeline (Go decoding and preprocessing, the pure-Go tokenizer, ONNX
// Runtime) on the 200 held-out single-object scenes: zero-shot top-1 with
// "a photo of a {lemma}." over all objects ≥ 0.85; the object's definition in
// the top 10 of all 7,080 definitions of T for ≥ 85% of scenes, median
// rank ≤ 3. train/evaluate.py measures the same in PyTorch.
func TestBuiltinModelCardMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds 7,080 definitions and 200 scenes")
	}
	rt := runtimeForTest(t)
	m := loadBuiltinModel(t, rt)
	defer m.Close()
	db := wordnet.MustLoad()
	h, err := db.LoadHierarchy("paper")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	var objects []string
	var prompts []string
	for i, line := range strings.Split(strings.TrimSpace(string(models.ObjectsTSV())), "\n") {
		if i == 0 {
			continue
		}
		name := strings.Split(line, "\t")[4]
		s, ok := db.ByName(name)
		if !ok {
			t.Fatalf("objects.tsv: unknown synset %s", name)
		}
		objects = append(objects, name)
		prompts = append(prompts, photoPrompt(s.Lemmas[0]))
	}
	promptEmb, err := m.EmbedTexts(ctx, prompts, 64)
	if err != nil {
		t.Fatal(err)
	}
	// The definitions of T as convis ranks them: its concept index.
	ix, err := saliency.BuildIndex(ctx, h, saliency.PromptDefinitions, m.EmbedTexts, 64, nil)
	if err != nil {
		t.Fatal(err)
	}
	sims := make([]float32, ix.Len())

	raw, err := os.ReadFile("../../../testdata/scenes/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Images []struct {
			File    string `json:"file"`
			Objects []struct {
				Concept string `json:"concept"`
			} `json:"objects"`
		} `json:"images"`
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatal(err)
	}
	var top1, top10 int
	var ranks []int
	for _, im := range manifest.Images {
		if len(im.Objects) != 1 {
			continue
		}
		img, err := clip.LoadImage(filepath.Join("../../../testdata/scenes", im.File), 0)
		if err != nil {
			t.Fatal(err)
		}
		emb, err := m.EmbedImages(ctx, []*clip.RGB{img}, 1)
		if err != nil {
			t.Fatal(err)
		}
		truth := im.Objects[0].Concept
		if objects[argmaxCosine(emb[0], promptEmb)] == truth {
			top1++
		}
		s, _ := db.ByName(truth)
		pos, ok := h.Position(s.Index)
		if !ok {
			t.Fatalf("%s: %s is not in T", im.File, truth)
		}
		ix.Similarities(clip.Normalize(emb[0]), sims)
		rank := saliency.BestRank(sims, []int32{int32(pos)})
		if rank < 10 {
			top10++
		}
		ranks = append(ranks, rank)
	}
	n := len(ranks)
	if n < 200 {
		t.Fatalf("%d single-object scenes, want 200", n)
	}
	sort.Ints(ranks)
	median := float64(ranks[(n-1)/2]+ranks[n/2]) / 2
	acc, share := float64(top1)/float64(n), float64(top10)/float64(n)
	t.Logf("%d scenes: zero-shot top-1 %.3f, definition top-10 %.3f, median rank %.1f", n, acc, share, median)
	if acc < 0.85 || share < 0.85 || median > 3 {
		t.Errorf("below the model card's targets (top-1 ≥ 0.85, top-10 ≥ 0.85, median ≤ 3)")
	}
}

// photoPrompt is train/common.py's "a photo of a {}." with its article rule.
func photoPrompt(lemma string) string {
	text := strings.ReplaceAll(lemma, "_", " ")
	article := "a"
	if strings.ContainsAny(strings.ToLower(text[:1]), "aeiou") {
		article = "an"
	}
	return "a photo of " + article + " " + text + "."
}

func argmaxCosine(q []float32, rows [][]float32) int {
	best, bestSim := 0, -2.0
	for i, r := range rows {
		if c, _ := clip.Cosine(q, r); c > bestSim {
			best, bestSim = i, c
		}
	}
	return best
}

// loadBuiltinModel extracts the embedded convis-tiny and opens it.
func loadBuiltinModel(t *testing.T, rt *Runtime) *clip.Model {
	t.Helper()
	dir, _, err := models.ExtractBuiltin(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return loadTestModel(t, rt, dir)
}
