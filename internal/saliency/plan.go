package saliency

import (
	"fmt"
	"math/rand/v2"
)

// Box is a square window on the canvas, top-left corner and size.
type Box struct{ X, Y, W, H int }

// Overlaps reports whether b and the rectangle [x0,x1)×[y0,y1) share a pixel.
func (b Box) Overlaps(x0, y0, x1, y1 int) bool {
	return b.X < x1 && b.X+b.W > x0 && b.Y < y1 && b.Y+b.H > y0
}

// Inside reports whether b lies wholly inside [x0,x1)×[y0,y1).
func (b Box) Inside(x0, y0, x1, y1 int) bool {
	return b.X >= x0 && b.Y >= y0 && b.X+b.W <= x1 && b.Y+b.H <= y1
}

// GridPlan is Algorithm 1's window plan: for each size in turn, top-left
// corners every stride pixels over the whole canvas. With onlyOverlapping,
// windows that miss the image are dropped: they only add to pixels outside
// the image, which the map crops away (441 + 289 = 730 of 1,800 windows).
func GridPlan(c *Canvas, sizes []int, stride int, onlyOverlapping bool) ([]Box, error) {
	if stride <= 0 {
		return nil, fmt.Errorf("stride must be positive, got %d", stride)
	}
	x0, y0, x1, y1 := c.ImageRect()
	var boxes []Box
	for _, s := range sizes {
		if s <= 0 || s > c.Opts.Size {
			return nil, fmt.Errorf("window size %d does not fit the canvas of %d", s, c.Opts.Size)
		}
		for y := 0; y < c.Opts.Size; y += stride {
			for x := 0; x < c.Opts.Size; x += stride {
				b := Box{x, y, s, s}
				if onlyOverlapping && !b.Overlaps(x0, y0, x1, y1) {
					continue
				}
				boxes = append(boxes, b)
			}
		}
	}
	return boxes, nil
}

// StochasticParams are the reference's sampler settings.
type StochasticParams struct {
	Sizes   []int   // window sizes, one set of rounds each (128, 64)
	Rounds  int     // rounds per size (3)
	Samples int     // windows per round (100)
	Epsilon float64 // multiplicative step (0.002)
	Gamma   float64 // rank decay (5)
	N       int     // ranks at or beyond N score −1 (91)
	Seed    uint64
}

// DefaultStochastic is the reference's sampler.
func DefaultStochastic() StochasticParams {
	return StochasticParams{Sizes: []int{128, 64}, Rounds: 3, Samples: 100, Epsilon: 0.002, Gamma: 5, N: 91}
}

// StochasticPlan samples the windows of every round: top-left corners
// uniform over the canvas (the window inside it), which covers every pixel
// of the image equally often. Round r's windows are
// boxes[r*Samples:(r+1)*Samples]. Windows that miss the image only change
// pixels outside it; Explain does not encode them.
func StochasticPlan(c *Canvas, p StochasticParams) ([]Box, error) {
	if p.Rounds <= 0 || p.Samples <= 0 {
		return nil, fmt.Errorf("stochastic sampler needs rounds and samples > 0")
	}
	rng := rand.New(rand.NewPCG(p.Seed, 0x77696e646f7773)) // "windows"
	var boxes []Box
	for _, s := range p.Sizes {
		if s <= 0 || s > c.Opts.Size {
			return nil, fmt.Errorf("window size %d does not fit the canvas of %d", s, c.Opts.Size)
		}
		for r := 0; r < p.Rounds; r++ {
			for i := 0; i < p.Samples; i++ {
				boxes = append(boxes, Box{rng.IntN(c.Opts.Size - s + 1), rng.IntN(c.Opts.Size - s + 1), s, s})
			}
		}
	}
	return boxes, nil
}
