package saliency

import (
	"context"
	"math"
	"sort"

	"github.com/convis/convis/internal/embedcache"
	"github.com/convis/convis/internal/wordnet"
)

// TextEmbedder embeds texts in batches (clip.Model.EmbedTexts).
type TextEmbedder func(ctx context.Context, texts []string, batch int) ([][]float32, error)

// BuildIndex embeds the prompts of T and normalises them. progress gets
// prompts done out of the total.
func BuildIndex(ctx context.Context, h *wordnet.Hierarchy, mode PromptMode, embed TextEmbedder, batch int, progress Progress) (*ConceptIndex, error) {
	return BuildIndexByLength(ctx, h, mode, embed, batch, nil, progress)
}

// BuildIndexByLength is BuildIndex with the prompts embedded in order of
// length (length(text), e.g. its tokens; nil: in T's order): a batch is
// padded to its longest prompt, so batches of like lengths encode the
// fewest padding tokens. The rows stay in T's order.
func BuildIndexByLength(ctx context.Context, h *wordnet.Hierarchy, mode PromptMode, embed TextEmbedder, batch int, length func(string) int, progress Progress) (*ConceptIndex, error) {
	texts, owner, err := Prompts(h, mode)
	if err != nil {
		return nil, err
	}
	order := make([]int, len(texts))
	for i := range order {
		order[i] = i
	}
	if length != nil {
		lens := make([]int, len(texts))
		for i, t := range texts {
			lens[i] = length(t)
		}
		// Stable: prompts of one length keep T's order, so the build is
		// deterministic.
		sort.SliceStable(order, func(a, b int) bool { return lens[order[a]] < lens[order[b]] })
	}
	ix := &ConceptIndex{H: h, Mode: mode, Owner: owner}
	batchTexts := make([]string, 0, batch)
	for start := 0; start < len(texts); start += batch {
		end := min(start+batch, len(texts))
		batchTexts = batchTexts[:0]
		for _, i := range order[start:end] {
			batchTexts = append(batchTexts, texts[i])
		}
		embs, err := embed(ctx, batchTexts, batch)
		if err != nil {
			return nil, err
		}
		for k, e := range embs {
			if ix.Dim == 0 {
				ix.Dim = len(e)
				ix.Emb = make([]float32, len(texts)*ix.Dim)
			}
			var s float64
			for _, v := range e {
				s += float64(v) * float64(v)
			}
			inv := float32(1 / math.Max(math.Sqrt(s), 1e-12))
			row := ix.Emb[order[start+k]*ix.Dim : (order[start+k]+1)*ix.Dim]
			for j, v := range e {
				row[j] = v * inv
			}
		}
		if progress != nil {
			progress(end, len(texts))
		}
	}
	return ix, nil
}

// LoadOrBuildIndex is embedcache.LoadOrBuildIndex for a ConceptIndex of
// h: the cached index for key from dir, or the one build makes (stored
// for next time).
func LoadOrBuildIndex(ctx context.Context, dir string, key embedcache.IndexKey, h *wordnet.Hierarchy, build func() (*ConceptIndex, error), opts ...embedcache.IndexOptions) (*ConceptIndex, bool, error) {
	var built *ConceptIndex
	data, cached, err := embedcache.LoadOrBuildIndex(ctx, dir, key, h.Len(), func() (embedcache.Index, error) {
		ix, err := build()
		if err != nil {
			return embedcache.Index{}, err
		}
		built = ix
		return embedcache.Index{Dim: ix.Dim, Owner: ix.Owner, Emb: ix.Emb}, nil
	}, opts...)
	if err != nil {
		return nil, false, err
	}
	if built != nil {
		return built, false, nil
	}
	return &ConceptIndex{H: h, Mode: PromptMode(key.Mode), Dim: data.Dim, Owner: data.Owner, Emb: data.Emb}, cached, nil
}
