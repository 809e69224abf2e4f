package saliency

import (
	"math/rand/v2"
	"testing"
)

// Scoring one grid map against the paper hierarchy: 730 windows × 7,080
// prompts × 128 dimensions (the built-in model's size).
func BenchmarkSimilaritiesGridMap(b *testing.B) {
	const prompts, dim, windows = 7080, 128, 730
	r := rand.New(rand.NewPCG(1, 2))
	ix := &ConceptIndex{Dim: dim, Emb: make([]float32, prompts*dim)}
	for i := range ix.Emb {
		ix.Emb[i] = r.Float32()
	}
	e := make([]float32, dim)
	for i := range e {
		e[i] = r.Float32()
	}
	out := make([]float32, prompts)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for w := 0; w < windows; w++ {
			ix.Similarities(e, out)
		}
	}
}
