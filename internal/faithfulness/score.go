package faithfulness

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/saliency"
)

// ScoreKind is the model output the curves perturb: the concept's presence
// score on the whole image (CLIP's own preprocessing, one pass per image).
type ScoreKind string

const (
	// ScoreRank is ConVis's presence score, the best rank r of the
	// concept's subtree among all |T| prompts, as 1 − ln(1+r)/ln(1+|T|):
	// 1 when first, 0 when last. The logarithm because the top ranks are
	// what matters (r/|T| is above 0.98 for any r under 100 of 7,080, and
	// every curve would be flat).
	ScoreRank ScoreKind = "rank"
	// ScoreHierarchy is the best cosine over the subtree's prompts.
	ScoreHierarchy ScoreKind = "hierarchy"
	// ScoreNaive is the cosine with the concept's own prompt.
	ScoreNaive ScoreKind = "naive"
)

// ParseScoreKind checks a score name.
func ParseScoreKind(s string) (ScoreKind, error) {
	switch k := ScoreKind(s); k {
	case ScoreRank, ScoreHierarchy, ScoreNaive:
		return k, nil
	}
	return "", fmt.Errorf("unknown score %q (want rank, hierarchy or naive)", s)
}

// Embedder embeds whole images in batches and remembers each distinct
// image's embedding until Reset: the curves of every method and concept of
// an image start or end at the same images (the image, the fully removed
// one), which are then encoded once.
type Embedder struct {
	Ex    *saliency.Explainer
	Batch int
	seen  map[[32]byte][]float32
	// Passes counts the images encoded (not remembered).
	Passes int
}

// Reset forgets the remembered embeddings (between images).
func (e *Embedder) Reset() { e.seen = nil }

// Embed returns the unit embeddings of imgs.
func (e *Embedder) Embed(ctx context.Context, imgs []*clip.RGB) ([][]float32, error) {
	if e.seen == nil {
		e.seen = map[[32]byte][]float32{}
	}
	S := e.Ex.Pre.Config.InputSize()
	out := make([][]float32, len(imgs))
	keys := make([][32]byte, len(imgs))
	var todo []int
	queued := map[[32]byte]bool{}
	for i, im := range imgs {
		h := sha256.New()
		fmt.Fprintf(h, "%dx%d:", im.W, im.H)
		h.Write(im.Pix)
		copy(keys[i][:], h.Sum(nil))
		if v, ok := e.seen[keys[i]]; ok {
			out[i] = v
		} else if !queued[keys[i]] {
			queued[keys[i]] = true
			todo = append(todo, i)
		}
	}
	batch := max(1, e.Batch)
	px := make([]float32, 0, batch*3*S*S)
	for start := 0; start < len(todo); start += batch {
		end := min(len(todo), start+batch)
		px = px[:(end-start)*3*S*S]
		for k, i := range todo[start:end] {
			if err := e.Ex.Pre.Into(px[k*3*S*S:(k+1)*3*S*S], imgs[i]); err != nil {
				return nil, err
			}
		}
		emb, err := e.Ex.Encoder.EncodeImages(ctx, px, end-start)
		if err != nil {
			return nil, err
		}
		dim := len(emb) / (end - start)
		if dim != e.Ex.Index.Dim {
			return nil, &saliency.DimError{Image: dim, Text: e.Ex.Index.Dim}
		}
		e.Passes += end - start
		for k, i := range todo[start:end] {
			e.seen[keys[i]] = clip.Normalize(append([]float32(nil), emb[k*dim:(k+1)*dim]...))
		}
	}
	for i := range out {
		out[i] = e.seen[keys[i]]
	}
	return out, nil
}

// Scorer is the concept's score of kind on images embedded by e.
func (e *Embedder) Scorer(c saliency.Concept, kind ScoreKind) Scorer {
	return func(ctx context.Context, imgs []*clip.RGB) ([]float64, error) {
		embs, err := e.Embed(ctx, imgs)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(imgs))
		for i, emb := range embs {
			w := saliency.NewWholeImage(e.Ex.Index, emb)
			switch kind {
			case ScoreHierarchy:
				out[i] = w.Best(c)
			case ScoreNaive:
				out[i] = w.Naive(c)
			default:
				out[i] = 1 - math.Log1p(float64(w.Rank(c)))/math.Log1p(float64(e.Ex.Index.Len()))
			}
		}
		return out, nil
	}
}
