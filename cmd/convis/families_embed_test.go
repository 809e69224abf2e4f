package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/record"
)

// familyReference is testdata/families/*/reference.json, written by
// scripts/make_family_fixtures.py: PyTorch's embeddings with the family's
// own preprocessing, and the texts' ids from the reference tokenizers.
type familyReference struct {
	About  string `json:"about"`
	Images map[string]struct {
		Embedding []float32 `json:"embedding"`
		PixelSum  float64   `json:"pixel_sum"`
	} `json:"images"`
	Texts []struct {
		Text      string    `json:"text"`
		IDs       []int32   `json:"ids"`
		Embedding []float32 `json:"embedding"`
	} `json:"texts"`
}

// families are the fixture models and what each must show.
var families = []struct {
	dir, family, tokenizer, textInputs, imageOutput, textOutput string
	input, height                                               int // width, and height when not square
	resize                                                      string
}{
	{"clip336", "clip", "BPE", "input_ids,attention_mask", "image_embeds", "text_embeds", 336, 0, "shortest_edge 336, center_crop 336x336"},
	{"siglip256", "siglip", "Unigram", "input_ids", "pooler_output", "pooler_output", 256, 0, "exact 256x256"},
	{"bertclip224", "open_clip", "WordPiece", "input_ids,attention_mask,position_ids,token_type_ids", "image_embeds", "text_embeds", 224, 0, "shortest_edge 224, center_crop 224x224"},
	{"mobileclip256", "mobileclip", "BPE", "input_ids", "image_embeds", "text_embeds", 256, 0, "shortest_edge 256, center_crop 256x256"},
	{"openclip224", "open_clip", "BPE", "input_ids", "image_embeds", "text_embeds", 224, 0, "shortest_edge 224, center_crop 224x224"},
	{"siglip-nonsquare", "siglip", "Unigram", "input_ids", "pooler_output", "pooler_output", 192, 128, "exact 192x128"},
}

// TestFamiliesEmbedMatchPyTorch: for each family's fixture, `convis model
// info` reports its family, input size, tokenizer and the outputs the rule
// chose; `convis tokenize` gives the reference tokenizers' ids; and
// `convis embed` equals PyTorch's forward with the family's own
// preprocessing: cosine ≥ 0.999 for images, ≥ 0.9999 for texts.
func TestFamiliesEmbedMatchPyTorch(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	cache := t.TempDir()
	for _, f := range families {
		t.Run(f.dir, func(t *testing.T) {
			dir := filepath.Join("../../testdata/families", f.dir)
			var ref familyReference
			raw, err := os.ReadFile(filepath.Join(dir, "reference.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &ref); err != nil {
				t.Fatal(err)
			}
			common := []string{"--ort-lib", lib, "--cache-dir", cache, "--model", dir}
			var info modelInfo
			if err := json.Unmarshal(runConvis(t, append([]string{"model", "info", "--json"}, common...)...), &info); err != nil {
				t.Fatal(err)
			}
			var inputs []string
			for _, x := range info.Text.Inputs {
				inputs = append(inputs, x.Name)
			}
			h := f.height
			if h == 0 {
				h = f.input
			}
			dim := 32
			if f.dir == "siglip-nonsquare" {
				dim = 16
			}
			if info.Preprocess.InputSize != [2]int{f.input, h} || info.Family != f.family || info.Input != f.input || info.Preprocess.Resize != f.resize || info.ImageOutput != f.imageOutput ||
				info.TextOutput != f.textOutput || strings.Join(inputs, ",") != f.textInputs || info.Dim != dim || !strings.HasPrefix(info.Tokenizer, f.tokenizer+" ") {
				t.Fatalf("model info: family %s, input %d, resize %q, outputs %s/%s, text inputs %v, dim %d, tokenizer %q; want %+v",
					info.Family, info.Input, info.Preprocess.Resize, info.ImageOutput, info.TextOutput, inputs, info.Dim, info.Tokenizer, f)
			}
			// convis's preprocessing is Pillow's, value for value: for the
			// PNG the sum of the model input allows for float32 accumulation
			// only; for the JPEG, Go's decoder and libjpeg also differ by a
			// level here and there.
			md, err := clip.OpenModelDir(dir, "fp32")
			if err != nil {
				t.Fatal(err)
			}
			pre := clip.NewPreprocessor(md.Pre)
			var images []string
			for name, want := range ref.Images {
				images = append(images, filepath.Join("../../testdata/images", name))
				im, err := clip.LoadImage(images[len(images)-1], 0)
				if err != nil {
					t.Fatal(err)
				}
				px := make([]float32, md.Pre.InputValues())
				if err := pre.Into(px, im); err != nil {
					t.Fatal(err)
				}
				var sum float64
				for _, v := range px {
					sum += float64(v)
				}
				tol := 1e-6 * float64(len(px))
				if filepath.Ext(name) == ".jpg" {
					tol = 1e-3 * float64(len(px))
				}
				if math.Abs(sum-want.PixelSum) > tol {
					t.Errorf("%s: input sum %.3f, Pillow's %.3f", name, sum, want.PixelSum)
				}
			}
			var got []struct {
				Input     string    `json:"input"`
				Embedding []float32 `json:"embedding"`
			}
			if err := json.Unmarshal(runConvis(t, append(append([]string{"embed", "--json"}, common...), images...)...), &got); err != nil {
				t.Fatal(err)
			}
			for _, g := range got {
				cos, err := clip.Cosine(g.Embedding, ref.Images[filepath.Base(g.Input)].Embedding)
				t.Logf("image %-14s cosine %.7f", filepath.Base(g.Input), cos)
				if err != nil || cos < 0.999 {
					t.Errorf("%s: cosine %.6f with PyTorch (%v), want ≥ 0.999", g.Input, cos, err)
				}
			}
			args := append([]string{"embed", "--json"}, common...)
			tok := append([]string{"tokenize", "--json"}, common...)
			for _, r := range ref.Texts {
				args = append(args, "--text", r.Text)
				tok = append(tok, r.Text)
			}
			var ids []struct {
				IDs []int32 `json:"ids"`
			}
			if err := json.Unmarshal(runConvis(t, tok...), &ids); err != nil {
				t.Fatal(err)
			}
			got = nil
			if err := json.Unmarshal(runConvis(t, args...), &got); err != nil {
				t.Fatal(err)
			}
			for i, r := range ref.Texts {
				if !slices.Equal(ids[i].IDs, r.IDs) {
					t.Errorf("text %q: convis ids %v, reference tokenizer %v", r.Text, ids[i].IDs, r.IDs)
				}
				cos, err := clip.Cosine(got[i].Embedding, r.Embedding)
				t.Logf("text %.30q cosine %.7f", r.Text, cos)
				if err != nil || cos < 0.9999 {
					t.Errorf("text %q: cosine %.6f with PyTorch (%v), want ≥ 0.9999", r.Text, cos, err)
				}
			}
		})
	}
}

// TestFamiliesExplain: `convis explain` runs end to end on each family's
// fixture (a small word list, a coarse grid, one canvas) and the sidecar records the
// model's input size, resize rule and normalisation.
func TestFamiliesExplain(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	cache := t.TempDir()
	vocab := filepath.Join(t.TempDir(), "words.txt")
	writeFile(t, vocab, []byte("dog\ncat\nbanana\ncar\n"))
	for _, f := range families {
		t.Run(f.dir, func(t *testing.T) {
			out := t.TempDir()
			recs := readRecords(t, runConvis(t, "explain", "--model", filepath.Join("../../testdata/families", f.dir), "--ort-lib", lib, "--cache-dir", cache,
				"--vocab", vocab, "-c", "animal", "--stride", "96", "--refine=false", "--seeds", "1", "--format", "json,overlay", "--jsonl", "-o", out, "../../testdata/images/landscape.png"))
			if len(recs) != 1 || recs[0].Status != record.StatusOK {
				t.Fatalf("records %+v", recs)
			}
			sc, err := record.ReadSidecar(filepath.Join(out, "landscape.animal.n.01.json"))
			if err != nil {
				t.Fatal(err)
			}
			p := sc.Model.Preprocess
			h := f.height
			if h == 0 {
				h = f.input
			}
			if p == nil || p.InputSize != [2]int{f.input, h} || p.Resize != f.resize {
				t.Fatalf("sidecar preprocess %+v, want input %d and %q", p, f.input, f.resize)
			}
			if _, err := os.Stat(filepath.Join(out, "landscape.animal.n.01.overlay.png")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestEmbeddingOutputFlags: --text-output and --image-output name the
// embedding; a name the model lacks, or a tensor that is no [B, D]
// embedding, is a one-line error listing what the model has.
func TestEmbeddingOutputFlags(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	dir := "../../testdata/families/siglip256"
	run := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := Main(t.Context(), append([]string{"--ort-lib", lib, "--cache-dir", t.TempDir()}, args...), nil, &stdout, &stderr)
		return code, stderr.String()
	}
	code, msg := run("model", "info", "--text-output", "text_embeds", dir)
	if code == 0 || !strings.Contains(msg, `text_model.onnx: --text-output "text_embeds": no such output (outputs: last_hidden_state float [-1 -1 32]; pooler_output float [-1 32])`) {
		t.Fatalf("exit %d: %s", code, msg)
	}
	code, msg = run("embed", "--image-output", "last_hidden_state", "--model", dir, "../../testdata/images/gray.png")
	if code == 0 || !strings.Contains(msg, `--image-output "last_hidden_state" is float [-1 64 32], want a float [B, D] embedding`) {
		t.Fatalf("exit %d: %s", code, msg)
	}
	if code, msg = run("embed", "--image-output", "pooler_output", "--model", dir, "../../testdata/images/gray.png"); code != 0 {
		t.Fatalf("--image-output pooler_output: exit %d: %s", code, msg)
	}
}
