// Package faithfulness measures whether a saliency map shows what the model
// uses, with forward passes only: deletion and insertion curves (RISE),
// their areas, ROAD's noisy linear imputation as a fill, and the average
// drop / increase in confidence (Grad-CAM++). It knows nothing of models:
// the score of an image comes from a callback, so the metrics are tested
// on synthetic scores and run on CLIP by `convis eval faithfulness`.
package faithfulness

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/saliency"
)

// Fill is what replaces the pixels a curve removes.
type Fill string

const (
	FillNoise Fill = "noise" // uniform random RGB, the canvas's noise (seeded)
	FillBlur  Fill = "blur"  // the canvas's blur: a smooth wash of the image's colours
	FillGray  Fill = "gray"  // mid grey (128)
	// FillRoad is ROAD's noisy linear imputation (Rong et al., 2022): each
	// removed pixel is the weighted mean of its eight neighbours (1/6 for
	// the four direct ones, 1/12 for the diagonals), solved jointly for all
	// removed pixels, plus Gaussian noise; the image stays in distribution
	// and the removed pixels' places do not leak through a flat colour.
	FillRoad Fill = "road"
)

// Fills lists the fills in the order help shows them.
var Fills = []Fill{FillNoise, FillBlur, FillGray, FillRoad}

// ParseFill checks a fill name.
func ParseFill(s string) (Fill, error) {
	for _, f := range Fills {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown fill %q (want noise, blur, gray or road)", s)
}

// RoadNoise is the standard deviation of the noise ROAD adds to imputed
// pixels, in units of the 0–255 range (the paper's 0.01 of [0, 1]).
const RoadNoise = 0.01 * 255

// Order is the pixels of a map, most salient first. Ties (a constant map,
// the flat parts of any map) are broken in a seeded random order, so a
// map that says nothing is a random order, not a raster scan.
func Order(v []float32, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 0x6f72646572)) // "order"
	idx := rng.Perm(len(v))
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] > v[idx[b]] })
	return idx
}

// Perturber makes the images of a curve from one image and a fill.
type Perturber struct {
	Img  *clip.RGB
	Fill Fill
	Seed uint64
	// base is the fully removed image of the fills that do not depend on
	// which pixels are removed (every fill but ROAD).
	base *clip.RGB
	// RoadNoise overrides the ROAD noise (NewPerturber sets RoadNoise).
	RoadNoise float64
}

// NewPerturber prepares the fill of an image.
func NewPerturber(img *clip.RGB, fill Fill, seed uint64) (*Perturber, error) {
	p := &Perturber{Img: img, Fill: fill, Seed: seed, RoadNoise: RoadNoise}
	switch fill {
	case FillNoise, FillBlur, FillGray:
		p.base = saliency.FillLike(img, saliency.Fill(fill), seed)
	case FillRoad:
	default:
		return nil, fmt.Errorf("unknown fill %q (want noise, blur, gray or road)", fill)
	}
	return p, nil
}

// Remove returns the image with the pixels where removed is true replaced
// by the fill; step seeds ROAD's noise (each image of a curve its own).
func (p *Perturber) Remove(removed []bool, step uint64) *clip.RGB {
	if p.Fill == FillRoad {
		return Impute(p.Img, removed, p.RoadNoise, p.Seed^(step*0x9e3779b97f4a7c15))
	}
	out := &clip.RGB{W: p.Img.W, H: p.Img.H, Pix: append([]uint8(nil), p.Img.Pix...)}
	for i, r := range removed {
		if r {
			copy(out.Pix[3*i:3*i+3], p.base.Pix[3*i:3*i+3])
		}
	}
	return out
}

// Blend is the image seen through a map (Grad-CAM++'s E = map ⊙ image):
// each pixel moves toward the fill by 1 − map. ROAD has no image to blend
// with, so it blends with its imputation of the least salient half.
func (p *Perturber) Blend(m []float32) *clip.RGB {
	base := p.base
	if p.Fill == FillRoad {
		removed := make([]bool, len(m))
		order := Order(m, p.Seed)
		for _, i := range order[len(order)/2:] {
			removed[i] = true
		}
		base = Impute(p.Img, removed, p.RoadNoise, p.Seed)
	}
	out := clip.NewRGB(p.Img.W, p.Img.H)
	for i, s := range m {
		a := math.Min(1, math.Max(0, float64(s)))
		for c := 0; c < 3; c++ {
			v := a*float64(p.Img.Pix[3*i+c]) + (1-a)*float64(base.Pix[3*i+c])
			out.Pix[3*i+c] = uint8(math.Round(v))
		}
	}
	return out
}

// Fractions are the curve's x values: k/steps for k = 0 … steps.
func Fractions(steps int) []float64 {
	xs := make([]float64, steps+1)
	for k := range xs {
		xs[k] = float64(k) / float64(steps)
	}
	return xs
}

// Images returns the steps+1 images of a curve: for deletion, the image
// with the first ⌊k/steps·N⌉ pixels of order removed; for insertion, the
// fully removed image with them restored.
func (p *Perturber) Images(order []int, steps int, insertion bool) []*clip.RGB {
	n := len(order)
	out := make([]*clip.RGB, steps+1)
	removed := make([]bool, n)
	if insertion {
		for i := range removed {
			removed[i] = true
		}
	}
	done := 0
	for k := 0; k <= steps; k++ {
		upto := int(math.Round(float64(k) / float64(steps) * float64(n)))
		for ; done < upto; done++ {
			removed[order[done]] = !insertion
		}
		out[k] = p.Remove(removed, uint64(k)+1)
	}
	return out
}

// AUC is the trapezoidal area under ys over xs.
func AUC(xs, ys []float64) float64 {
	a := 0.0
	for i := 1; i < len(xs); i++ {
		a += (xs[i] - xs[i-1]) * (ys[i] + ys[i-1]) / 2
	}
	return a
}

// Scorer scores images for one concept (higher: more of the concept).
type Scorer func(ctx context.Context, imgs []*clip.RGB) ([]float64, error)

// Result is one map's measurements.
type Result struct {
	Deletion, Insertion []float64 // scores at Fractions(steps)
	DeletionAUC         float64
	InsertionAUC        float64
	Full, Blended       float64 // score of the image and of the image seen through the map
	// Drop is Grad-CAM++'s max(0, full − blended)/full; Increase is 1
	// when the blended image scores higher than the image.
	Drop, Increase float64
}

// Measure runs a map's curves and its drop / increase: 2·(steps+1)+1
// images scored in one call (the scorer batches and may deduplicate).
func Measure(ctx context.Context, p *Perturber, m []float32, steps int, score Scorer) (Result, error) {
	if len(m) != p.Img.W*p.Img.H {
		return Result{}, fmt.Errorf("faithfulness: the map has %d values, the image %d pixels", len(m), p.Img.W*p.Img.H)
	}
	if steps < 1 {
		return Result{}, fmt.Errorf("faithfulness: steps %d, want ≥ 1", steps)
	}
	order := Order(m, p.Seed)
	imgs := append(p.Images(order, steps, false), p.Images(order, steps, true)...)
	imgs = append(imgs, p.Blend(m))
	s, err := score(ctx, imgs)
	if err != nil {
		return Result{}, err
	}
	if len(s) != len(imgs) {
		return Result{}, fmt.Errorf("faithfulness: %d scores for %d images", len(s), len(imgs))
	}
	r := Result{Deletion: s[:steps+1], Insertion: s[steps+1 : 2*steps+2], Blended: s[2*steps+2]}
	xs := Fractions(steps)
	r.DeletionAUC, r.InsertionAUC = AUC(xs, r.Deletion), AUC(xs, r.Insertion)
	r.Full = r.Deletion[0]
	r.Drop, r.Increase = Drop(r.Full, r.Blended), b2f(r.Blended > r.Full)
	return r, nil
}

// Drop is Grad-CAM++'s average-drop term for one image: the share of the
// score lost when only the map's pixels are seen (0 when the score is
// not positive).
func Drop(full, blended float64) float64 {
	if full <= 0 {
		return 0
	}
	return math.Max(0, full-blended) / full
}

// RandomMap is the seeded baseline map: uniform values per pixel.
func RandomMap(w, h int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x72616e646f6d)) // "random"
	v := make([]float32, w*h)
	for i := range v {
		v[i] = rng.Float32()
	}
	return v
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
