// Package cliptest has fake encoders for tests of the packages above clip:
// deterministic, fast, and counting their work.
package cliptest

import (
	"context"
	"hash/fnv"
	"math/rand/v2"
	"sync"
)

// Encoder embeds a preprocessed image as a fixed random projection of a
// sample of its values, and counts passes and batch sizes.
type Encoder struct {
	dim     int
	mu      sync.Mutex
	batches []int
	weights []float32
}

const step = 97

// NewEncoder returns a fake image encoder of dim values for 224² inputs.
func NewEncoder(dim int) *Encoder {
	r := rand.New(rand.NewPCG(1, 2))
	n := 3 * 224 * 224 / step
	w := make([]float32, dim*(n+1))
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	return &Encoder{dim: dim, weights: w}
}

// EncodeImages implements clip.ImageEncoder.
func (f *Encoder) EncodeImages(ctx context.Context, px []float32, n int) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.batches = append(f.batches, n)
	f.mu.Unlock()
	per := len(px) / n
	out := make([]float32, n*f.dim)
	for i := 0; i < n; i++ {
		img := px[i*per : (i+1)*per]
		for k := 0; k < f.dim; k++ {
			w := f.weights[k*(per/step+1):]
			var s float32
			for j := 0; j*step < per; j++ {
				s += img[j*step] * w[j]
			}
			out[i*f.dim+k] = s
		}
	}
	return out, nil
}

// Batches returns the batch sizes seen so far, in order.
func (f *Encoder) Batches() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.batches...)
}

// Passes is the number of images encoded so far.
func (f *Encoder) Passes() int {
	n := 0
	for _, b := range f.Batches() {
		n += b
	}
	return n
}

func (f *Encoder) Dim() int     { return f.dim }
func (f *Encoder) Close() error { return nil }

// Texts embeds a text as a random vector seeded by its hash (the shape of
// saliency.TextEmbedder).
func Texts(dim int) func(ctx context.Context, texts []string, batch int) ([][]float32, error) {
	return func(ctx context.Context, texts []string, batch int) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i, t := range texts {
			h := fnv.New64a()
			h.Write([]byte(t))
			r := rand.New(rand.NewPCG(h.Sum64(), 7))
			v := make([]float32, dim)
			for k := range v {
				v[k] = float32(r.NormFloat64())
			}
			out[i] = v
		}
		return out, nil
	}
}
