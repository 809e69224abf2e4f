package saliency

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/convis/convis/internal/wordnet"
)

// PromptMode says which texts stand for a synset.
type PromptMode string

const (
	PromptDefinitions PromptMode = "definitions" // the WordNet definition, raw (the reference)
	PromptLemmas      PromptMode = "lemmas"      // each lemma, underscores as spaces
)

// Prompts lists the texts of T under a mode, and the position in T (row of
// Hierarchy.Nodes) that each text stands for. A mode other than
// definitions and lemmas is a template with {} standing for each lemma.
func Prompts(h *wordnet.Hierarchy, mode PromptMode) (texts []string, owner []int32, err error) {
	tmpl := string(mode)
	if mode != PromptDefinitions && mode != PromptLemmas && !strings.Contains(tmpl, "{}") {
		return nil, nil, fmt.Errorf("prompt mode %q: want definitions, lemmas or a template containing {}", mode)
	}
	for pos, s := range h.Nodes {
		syn := h.DB.Get(s)
		if mode == PromptDefinitions {
			texts = append(texts, syn.Definition)
			owner = append(owner, int32(pos))
			continue
		}
		for _, l := range syn.Lemmas {
			l = strings.ReplaceAll(l, "_", " ")
			if mode != PromptLemmas {
				l = strings.ReplaceAll(tmpl, "{}", l)
			}
			texts = append(texts, l)
			owner = append(owner, int32(pos))
		}
	}
	return texts, owner, nil
}

// ConceptIndex is the normalised prompt embeddings of all of T.
type ConceptIndex struct {
	H     *wordnet.Hierarchy
	Mode  PromptMode
	Dim   int
	Owner []int32   // prompt → position in T
	Emb   []float32 // prompts × Dim, row-major, unit rows
	// Kernel, when set, multiplies batches of window embeddings with Emb
	// (ONNX Runtime's vectorised GEMM); nil: scalar Go.
	Kernel SimilarityKernel
}

// SimilarityKernel computes rows × Embᵀ for a batch of n unit embeddings
// (n×Dim, row-major) into out (n×Len). A kernel gives each product the
// same bits whatever n is (TestMatMulProducts), so a map does not depend
// on how its windows were batched.
type SimilarityKernel interface {
	Products(ctx context.Context, rows []float32, n int, out []float32) error
}

// Len is the number of prompts.
func (ix *ConceptIndex) Len() int { return len(ix.Owner) }

// Close frees the Kernel's resources (an ONNX Runtime session holding
// every prompt's embedding, 150 MB for WordNet at 512), when it has any;
// the index still ranks, in Go, after it.
func (ix *ConceptIndex) Close() error {
	if ix == nil {
		return nil
	}
	k, ok := ix.Kernel.(io.Closer)
	ix.Kernel = nil
	if !ok {
		return nil
	}
	return k.Close()
}

// Concept is one concept to explain: its synset and the prompts of its
// subtree S (for rank scores) and of the synset itself (for occlusion).
type Concept struct {
	Query   string
	Synset  *wordnet.Synset
	Set     []int32 // prompts whose synset is in S
	Own     []int32 // prompts of the synset itself
	Synsets int     // |S|
}

// Concept builds the prompt sets of synset s, which must be in T.
func (ix *ConceptIndex) Concept(query string, s *wordnet.Synset) (Concept, error) {
	if err := ix.H.Check(s); err != nil {
		return Concept{}, err
	}
	sub := ix.H.Subtree(s.Index)
	in := make(map[int32]bool, len(sub))
	for _, p := range sub {
		in[int32(p)] = true
	}
	self, _ := ix.H.Position(s.Index)
	c := Concept{Query: query, Synset: s, Synsets: len(sub)}
	for i, o := range ix.Owner {
		if in[o] {
			c.Set = append(c.Set, int32(i))
		}
		if int(o) == self {
			c.Own = append(c.Own, int32(i))
		}
	}
	return c, nil
}

// Similarities writes the cosine of a unit embedding with every prompt.
func (ix *ConceptIndex) Similarities(e []float32, out []float32) {
	d := ix.Dim
	for i := range out {
		out[i] = dot(ix.Emb[i*d:(i+1)*d], e)
	}
}

// SimilaritiesBatch writes the cosines of each unit embedding in rows with
// every prompt: out[i*Len():(i+1)*Len()] for rows[i]. It uses the Kernel
// when there is one; flat is scratch space (grown as needed and returned).
func (ix *ConceptIndex) SimilaritiesBatch(ctx context.Context, rows [][]float32, out []float32, flat []float32) ([]float32, error) {
	P := ix.Len()
	for _, row := range rows {
		if len(row) != ix.Dim {
			return flat, &DimError{Image: len(row), Text: ix.Dim}
		}
	}
	if ix.Kernel == nil {
		for i, row := range rows {
			ix.Similarities(row, out[i*P:(i+1)*P])
		}
		return flat, nil
	}
	flat = flat[:0]
	for _, row := range rows {
		flat = append(flat, row...)
	}
	return flat, ix.Kernel.Products(ctx, flat, len(rows), out[:len(rows)*P])
}

// DimError is a model whose image and text embeddings differ in size.
type DimError struct{ Image, Text int }

func (e *DimError) Error() string {
	return fmt.Sprintf("image embeddings have %d values but text embeddings (the concept index) %d: not one CLIP model", e.Image, e.Text)
}

// dot is unrolled by four: it runs |T| times per window.
func dot(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	n := len(a)
	b = b[:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// BestRank is the ConVis score: the rank (0 = most similar) among all
// prompts of the best prompt in set.
func BestRank(sims []float32, set []int32) int {
	best := float32(-2)
	for _, i := range set {
		if sims[i] > best {
			best = sims[i]
		}
	}
	r := 0
	for _, v := range sims {
		if v > best {
			r++
		}
	}
	return r
}

// OwnSimilarity is the occlusion baseline's score: the best cosine with the
// synset's own prompts.
func OwnSimilarity(sims []float32, own []int32) float32 {
	best := float32(-2)
	for _, i := range own {
		if sims[i] > best {
			best = sims[i]
		}
	}
	return best
}
