package saliency

import "math"

// Map is a saliency map: values in [0,1], row-major, W×H.
type Map struct {
	W, H int
	V    []float32
	Flat bool // every window scored the same: the map carries no information
}

// GridMap is Algorithm 1: every window adds its score to the pixels it
// covers; the sum is cropped to the image, min-max normalised and, for
// ranks (low = salient), inverted.
func GridMap(c *Canvas, boxes []Box, scores []float64, invert bool) *Map {
	acc := accumulate(c.Opts.Size, boxes, scores)
	return finish(c, acc, invert)
}

// accumulate sums per-window scores over the canvas with a 2D difference
// array: O(windows + pixels) instead of O(windows × window area).
func accumulate(size int, boxes []Box, scores []float64) []float64 {
	n := size + 1
	diff := make([]float64, n*n)
	for i, b := range boxes {
		x0, y0 := max(b.X, 0), max(b.Y, 0)
		x1, y1 := min(b.X+b.W, size), min(b.Y+b.H, size)
		if x0 >= x1 || y0 >= y1 {
			continue
		}
		s := scores[i]
		diff[y0*n+x0] += s
		diff[y0*n+x1] -= s
		diff[y1*n+x0] -= s
		diff[y1*n+x1] += s
	}
	acc := make([]float64, size*size)
	for y := 0; y < size; y++ {
		var row float64
		for x := 0; x < size; x++ {
			row += diff[y*n+x]
			v := row
			if y > 0 {
				v += acc[(y-1)*size+x]
			}
			acc[y*size+x] = v
		}
	}
	// acc now holds prefix sums of the row-wise running sums, i.e. the
	// 2D prefix sum of diff: the accumulated value at each pixel.
	return acc
}

// StochasticMap is the reference's sampler: in each round every window
// multiplies its region by 1 + ε·s, s = 2·(exp(−γ·r/n) − 0.5) if r < n
// else −1; rounds (each starting from ones) are summed, cropped to the
// image and min-max normalised (not inverted: high = salient).
func StochasticMap(c *Canvas, boxes []Box, ranks []int, p StochasticParams) *Map {
	size := c.Opts.Size
	sum := make([]float64, size*size)
	round := make([]float64, size*size)
	per := p.Samples
	for start := 0; start < len(boxes); start += per {
		for i := range round {
			round[i] = 1
		}
		for i := start; i < min(start+per, len(boxes)); i++ {
			f := 1 + p.Epsilon*RankScore(ranks[i], p.Gamma, p.N)
			b := boxes[i]
			for y := max(b.Y, 0); y < min(b.Y+b.H, size); y++ {
				row := round[y*size : (y+1)*size]
				for x := max(b.X, 0); x < min(b.X+b.W, size); x++ {
					row[x] *= f
				}
			}
		}
		for i, v := range round {
			sum[i] += v
		}
	}
	return finish(c, sum, false)
}

// RankScore maps a rank to the stochastic sampler's score in [−1, 1].
func RankScore(r int, gamma float64, n int) float64 {
	if r >= n {
		return -1
	}
	return 2 * (math.Exp(-gamma*float64(r)/float64(n)) - 0.5)
}

// finish crops a canvas accumulator to the image square and normalises it
// over the part that shows the image: the padding of a non-square image
// is cropped away afterwards, and its values (windows of fill alone) must
// not set the scale of the image's.
func finish(c *Canvas, acc []float64, invert bool) *Map {
	x0, y0, x1, y1 := c.ImageRect()
	w, h := x1-x0, y1-y0
	m := &Map{W: w, H: h, V: make([]float32, w*h)}
	lo, hi := math.Inf(1), math.Inf(-1)
	cx0, cy0, cx1, cy1 := c.ContentRect()
	for y := cy0; y < cy1; y++ {
		for x := cx0; x < cx1; x++ {
			v := acc[y*c.Opts.Size+x]
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if math.IsInf(hi, 0) || math.IsInf(lo, 0) || math.IsNaN(hi) || math.IsNaN(lo) {
		// The scores overflowed: say so (Finite) rather than pass a flat
		// or half-NaN map off as a result.
		for i := range m.V {
			m.V[i] = float32(math.NaN())
		}
		return m
	}
	if hi-lo <= 1e-12*math.Max(1, math.Abs(hi)) {
		m.Flat = true
		return m
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := (acc[(y+y0)*c.Opts.Size+x+x0] - lo) / (hi - lo)
			v = math.Max(0, math.Min(1, v)) // padding outside the content's range
			if invert {
				v = 1 - v
			}
			m.V[y*w+x] = float32(v)
		}
	}
	return m
}

// ToImage maps a map over the canvas's image square back onto the source
// image: for a padded square, the part that shows the image, resampled
// bilinearly to the source's size; for a centre crop, the square as is.
func (c *Canvas) ToImage(m *Map) *Map {
	if c.Opts.Crop == CropCenter {
		return m
	}
	W, H := c.SrcW, c.SrcH
	out := &Map{W: W, H: H, V: make([]float32, W*H), Flat: m.Flat}
	sx := (c.ContentX1 - c.ContentX0) / float64(W)
	sy := (c.ContentY1 - c.ContentY0) / float64(H)
	for y := 0; y < H; y++ {
		v := c.ContentY0 + (float64(y)+0.5)*sy - 0.5
		for x := 0; x < W; x++ {
			u := c.ContentX0 + (float64(x)+0.5)*sx - 0.5
			out.V[y*W+x] = m.bilinear(u, v)
		}
	}
	return out
}

// ToSource maps a square map onto the whole source image, in its pixels:
// ToImage for the whole-image mode; for the reference's centre crop, the
// crop's pixels get the map and the pixels it cut away get 0. Metrics that
// compare maps with boxes in image pixels need this (eval --crop center
// once compared 224-square maps with boxes in image pixels).
func (c *Canvas) ToSource(m *Map) *Map {
	if c.Opts.Crop != CropCenter {
		return c.ToImage(m)
	}
	out := &Map{W: c.ImgW, H: c.ImgH, V: make([]float32, c.ImgW*c.ImgH), Flat: m.Flat}
	s := float64(c.Opts.ImageSize) / float64(c.SrcW)
	for y := c.SrcY0; y < c.SrcY0+c.SrcH; y++ {
		v := (float64(y-c.SrcY0)+0.5)*s - 0.5
		for x := c.SrcX0; x < c.SrcX0+c.SrcW; x++ {
			u := (float64(x-c.SrcX0)+0.5)*s - 0.5
			out.V[y*c.ImgW+x] = m.bilinear(u, v)
		}
	}
	return out
}

func (m *Map) bilinear(u, v float64) float32 {
	u = math.Max(0, math.Min(u, float64(m.W-1)))
	v = math.Max(0, math.Min(v, float64(m.H-1)))
	x0, y0 := int(u), int(v)
	x1, y1 := min(x0+1, m.W-1), min(y0+1, m.H-1)
	fx, fy := float32(u-float64(x0)), float32(v-float64(y0))
	a := m.V[y0*m.W+x0]*(1-fx) + m.V[y0*m.W+x1]*fx
	b := m.V[y1*m.W+x0]*(1-fx) + m.V[y1*m.W+x1]*fx
	return a*(1-fy) + b*fy
}

// Finite reports whether every value of the map is a number: parameters
// such as a negative γ can overflow the stochastic score.
func (m *Map) Finite() bool {
	for _, v := range m.V {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

// Peak is the first pixel with the largest value.
func (m *Map) Peak() (x, y int) {
	best := float32(-1)
	for i, v := range m.V {
		if v > best {
			best, x, y = v, i%m.W, i/m.W
		}
	}
	return x, y
}

// Rect is a box in map (image) pixels: [X, X+W) × [Y, Y+H).
type Rect struct{ X, Y, W, H int }

// BoxAt thresholds the map at t and returns the tight box of the largest
// 4-connected component of pixels ≥ t (the reference's box); ok is false
// when no pixel passes.
func (m *Map) BoxAt(t float32) (Rect, bool) {
	r := m.Regions(t)
	if len(r) == 0 {
		return Rect{}, false
	}
	return r[0].Box, true
}
