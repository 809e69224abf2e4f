package saliency

import (
	"context"
	"fmt"
	"math"
	"slices"
)

// RefineParams is the refinement stage (`--refine`, on by default): after
// the coarse map, small windows are ranked too, and their mean rank per
// pixel scales the coarse map. The coarse map stays (the small windows
// alone are noisy: a whole grid of them localises worse,
// docs/localization.md); they only sharpen its edges.
type RefineParams struct {
	// Region is where the small windows go: RefineBox around each
	// concept's coarse box, or RefineImage, a fixed grid over the whole
	// image that is the same for every concept (so it is encoded once per
	// image, with the grid, and cached with it).
	Region    string
	Size      int     // window side in canvas pixels (32)
	Stride    int     // step between windows (image 16, box 8; box: raised when the region needs more than MaxPasses)
	Margin    int     // box: image-square pixels added around the coarse box on each side (16)
	Weight    float64 // β: the map becomes coarse × (1 − β + β·fine) (image 0.5, box 0.3)
	MaxPasses int     // box: bound on the windows of one concept (365: half a grid map's 730)
	Rule      BoxRule // box: the coarse box's rule (rel:0.8)
	// Quantile, when above 0, first re-aggregates the coarse windows: a
	// pixel's value is this quantile of the ranks of the windows covering
	// it (salient only where most of them rank the concept well) instead
	// of their sum, which spreads each good window over its whole area.
	Quantile float64
	// LogRanks: ranks enter both maps as log(1 + rank), so that the
	// differences among the best ranks (the object's windows) count and
	// those among the many poor ranks of the background hardly do.
	LogRanks bool
	// Smooth, when above 0, is the radius in image-square pixels of a box
	// filter over the refined map, whose 16-pixel cells (of the
	// percentile and of the small windows) otherwise show as blocks
	// (--refine-smooth; measured in docs/localization.md, not the default).
	Smooth int
}

// scale is the ranks as the maps take them (LogRanks).
func (rp *RefineParams) scale(ranks []float64) []float64 {
	if !rp.LogRanks {
		return ranks
	}
	out := make([]float64, len(ranks))
	for i, r := range ranks {
		out[i] = math.Log1p(r)
	}
	return out
}

// Refinement regions (RefineParams.Region).
const (
	RefineBox   = "box"
	RefineImage = "image"
)

// FineWindows is the RefineImage region's plan: windows of Size every
// Stride over the image's content, each centred on a Stride cell of it
// (a 224 square with 32 every 16: 14 × 14 = 196 windows), kept inside the
// canvas.
func FineWindows(c *Canvas, rp RefineParams) []Box {
	if rp.Size <= 0 || rp.Stride <= 0 || rp.Size > c.Opts.Size {
		return nil
	}
	x0, y0, x1, y1 := c.ContentRect()
	lead := (rp.Size - rp.Stride) / 2
	var boxes []Box
	for y := y0; y < y1; y += rp.Stride {
		for x := x0; x < x1; x += rp.Stride {
			bx := min(max(x-lead, 0), c.Opts.Size-rp.Size)
			by := min(max(y-lead, 0), c.Opts.Size-rp.Size)
			boxes = append(boxes, Box{bx, by, rp.Size, rp.Size})
		}
	}
	return boxes
}

// DefaultRefine is explain's default map (docs/localization.md): the 75th
// percentile of the grid windows' log ranks per pixel, scaled by a fixed
// grid of windows of 32 canvas pixels every 16 over the image (196 more
// passes on a square, shared by every concept), β 0.5. (Smooth stays 0:
// smoothing fitted more boxes on the squares but not on the held-out
// non-square scenes, and cost pointing game on both.)
func DefaultRefine() RefineParams {
	return RefineParams{Region: RefineImage, Size: 32, Stride: 16, Weight: 0.5, Quantile: 0.75, LogRanks: true, Rule: BoxRule{Mode: "rel", Threshold: 0.8}}
}

// BoxRefine is the per-concept stage (`--refine box`): windows of 32 every
// 8 around each concept's coarse box, at most 365 per concept, on linear
// ranks, β 0.3, as measured in docs/localization.md.
func BoxRefine() RefineParams {
	return RefineParams{Region: RefineBox, Size: 32, Stride: 8, Margin: 16, Weight: 0.3, MaxPasses: 365, Rule: BoxRule{Mode: "rel", Threshold: 0.8}, Quantile: 0.75}
}

// DefaultBoxRule is the box rule measured for the map that p makes:
// rel:0.4 on the log-rank maps of the default refinement, whose object
// region spreads wider above the background, and rel:0.8 on the others
// (docs/localization.md).
func DefaultBoxRule(p Params) BoxRule {
	if p.Method == MethodGrid && p.Refine != nil && p.Refine.LogRanks {
		return BoxRule{Mode: "rel", Threshold: 0.4}
	}
	return BoxRule{Mode: "rel", Threshold: 0.8}
}

// refinePlan places the refinement windows over the coarse map's box (on
// the image square), grown by the margin and kept within the image's
// content; the stride grows until the windows fit MaxPasses. It returns
// canvas boxes, none when the coarse map has no box.
func refinePlan(c *Canvas, square *Map, rp RefineParams) []Box {
	res := square.BoxesBy(rp.Rule, false)
	if len(res.Boxes) == 0 || rp.Size <= 0 || rp.Stride <= 0 {
		return nil
	}
	b := res.Boxes[0]
	o := c.Opts.Offset
	cx0, cy0, cx1, cy1 := c.ContentRect()
	x0, y0 := max(b.X-rp.Margin+o, cx0), max(b.Y-rp.Margin+o, cy0)
	x1, y1 := min(b.X+b.W+rp.Margin+o, cx1), min(b.Y+b.H+rp.Margin+o, cy1)
	if x1 <= x0 || y1 <= y0 {
		return nil
	}
	// Window centres cover the region; a window is kept inside the canvas.
	count := func(stride int) int {
		return ((x1-x0+stride-1)/stride + 1) * ((y1-y0+stride-1)/stride + 1)
	}
	stride := rp.Stride
	for rp.MaxPasses > 0 && count(stride) > rp.MaxPasses {
		stride++
	}
	size, half := rp.Size, rp.Size/2
	var boxes []Box
	for y := y0 - half; y <= y1-half; y += stride {
		for x := x0 - half; x <= x1-half; x += stride {
			bx := min(max(x, 0), c.Opts.Size-size)
			by := min(max(y, 0), c.Opts.Size-size)
			boxes = append(boxes, Box{bx, by, size, size})
		}
	}
	return boxes
}

// refineMap scales the coarse map (over the image square, normalised over
// the content) by the refinement windows' mean rank per pixel (low rank =
// salient), min-max normalised over the pixels they cover and 0 elsewhere,
// and normalises the product over the content again.
func refineMap(c *Canvas, square *Map, boxes []Box, ranks []float64, beta float64, smooth int) *Map {
	n := square.W
	o := c.Opts.Offset
	sum := make([]float64, n*n)
	cnt := make([]float64, n*n)
	for k, b := range boxes {
		for y := max(b.Y-o, 0); y < min(b.Y-o+b.H, n); y++ {
			for x := max(b.X-o, 0); x < min(b.X-o+b.W, n); x++ {
				sum[y*n+x] += ranks[k]
				cnt[y*n+x]++
			}
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range sum {
		if cnt[i] > 0 {
			sum[i] /= cnt[i]
			lo, hi = min(lo, sum[i]), max(hi, sum[i])
		}
	}
	cx0, cy0, cx1, cy1 := c.ContentRect()
	cx0, cy0, cx1, cy1 = cx0-o, cy0-o, cx1-o, cy1-o
	v := make([]float64, len(square.V))
	for i, s := range square.V {
		f := 0.0
		if cnt[i] > 0 && hi > lo {
			f = 1 - (sum[i]-lo)/(hi-lo)
		}
		v[i] = float64(s) * (1 - beta + beta*f)
	}
	if smooth > 0 {
		boxFilter(v, n, cx0, cy0, cx1, cy1, smooth)
	}
	vlo, vhi := math.Inf(1), math.Inf(-1)
	for y := cy0; y < cy1; y++ {
		for x := cx0; x < cx1; x++ {
			vlo, vhi = min(vlo, v[y*n+x]), max(vhi, v[y*n+x])
		}
	}
	m := &Map{W: n, H: square.H, V: make([]float32, len(v)), Flat: square.Flat}
	if vhi <= vlo {
		copy(m.V, square.V)
		return m
	}
	for i, x := range v {
		m.V[i] = float32(min(max((x-vlo)/(vhi-vlo), 0), 1))
	}
	return m
}

// boxFilter replaces each value of the rectangle [x0,x1)×[y0,y1) of the
// n-wide v by the mean of the values within r of it, in the rectangle (a
// separable box filter, truncated at the edges so that nothing outside
// the image's content leaks in). Written here because the standard
// library has none for float maps; it runs with running sums, so in time
// linear in the pixels whatever r is.
func boxFilter(v []float64, n, x0, y0, x1, y1, r int) {
	pass := func(get func(i int) float64, set func(i int, x float64), length int) {
		prefix := make([]float64, length+1)
		for i := 0; i < length; i++ {
			prefix[i+1] = prefix[i] + get(i)
		}
		for i := 0; i < length; i++ {
			lo, hi := max(i-r, 0), min(i+r+1, length)
			set(i, (prefix[hi]-prefix[lo])/float64(hi-lo))
		}
	}
	for y := y0; y < y1; y++ {
		row := v[y*n+x0 : y*n+x1]
		pass(func(i int) float64 { return row[i] }, func(i int, x float64) { row[i] = x }, len(row))
	}
	for x := x0; x < x1; x++ {
		pass(func(i int) float64 { return v[(y0+i)*n+x] }, func(i int, val float64) { v[(y0+i)*n+x] = val }, y1-y0)
	}
}

// refine runs the refinement stage for one concept: plans the windows on
// its coarse map, embeds them (through the window cache when there is
// one), ranks them and returns the refined map, its windows and the
// encoder passes they took.
func (e *Explainer) refine(ctx context.Context, c *Canvas, square *Map, cc Concept, p Params) (*Map, int, int, error) {
	boxes := refinePlan(c, square, *p.Refine)
	if len(boxes) == 0 {
		return square, 0, 0, nil
	}
	// Ranked batch by batch as they come, as the grid's windows are.
	ranks := make([]float64, len(boxes))
	sc := &windowScorer{ctx: ctx, index: e.Index, concepts: []Concept{cc}, ranks: [][]float64{ranks}, cosines: [][]float64{make([]float64, len(boxes))}}
	stats, _, err := e.embedCached(ctx, c, boxes, p.Batch, nil, sc.into(nil), sc.failed)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("refining the map of %s: %w", cc.Synset.Name, err)
	}
	if sc.err != nil {
		return nil, 0, 0, fmt.Errorf("ranking refinement windows: %w", sc.err)
	}
	passes := stats.Passes
	return refineMap(c, square, boxes, p.Refine.scale(ranks), p.Refine.Weight, p.Refine.Smooth), len(boxes), passes, nil
}

// QuantileMap is the coarse map re-aggregated (RefineParams.Quantile): over
// the image square, each pixel of the image's content takes the q-quantile
// of the scores of the windows covering it; low scores (ranks) are
// salient. Normalised over the content, 0 outside it.
func QuantileMap(c *Canvas, windows []Box, scores []float64, q float64) *Map {
	n := c.Opts.ImageSize
	o := c.Opts.Offset
	cx0, cy0, cx1, cy1 := c.ContentRect()
	cx0, cy0, cx1, cy1 = cx0-o, cy0-o, cx1-o, cy1-o
	clip := func(b Box) (x0, y0, x1, y1 int) {
		return max(b.X-o, cx0), max(b.Y-o, cy0), min(b.X-o+b.W, cx1), min(b.Y-o+b.H, cy1)
	}
	// The windows' clipped edges cut the content into rectangles whose
	// pixels are covered by the same windows, so share one quantile: a grid
	// every 16 pixels has about 15×15 of them for 224×224 pixels, and the
	// quantile is taken once per rectangle instead of once per pixel (the
	// same values sorted: the same bits).
	xs, ys := []int{cx0, cx1}, []int{cy0, cy1}
	for _, b := range windows {
		x0, y0, x1, y1 := clip(b)
		if x0 < x1 && y0 < y1 {
			xs, ys = append(xs, x0, x1), append(ys, y0, y1)
		}
	}
	slices.Sort(xs)
	slices.Sort(ys)
	xs, ys = slices.Compact(xs), slices.Compact(ys)
	nx, ny := len(xs)-1, len(ys)-1
	cells := make([][]float32, nx*ny)
	for k, b := range windows {
		x0, y0, x1, y1 := clip(b)
		if x0 >= x1 || y0 >= y1 {
			continue
		}
		i0, _ := slices.BinarySearch(xs, x0)
		i1, _ := slices.BinarySearch(xs, x1)
		j0, _ := slices.BinarySearch(ys, y0)
		j1, _ := slices.BinarySearch(ys, y1)
		for j := j0; j < j1; j++ {
			for i := i0; i < i1; i++ {
				cells[j*nx+i] = append(cells[j*nx+i], float32(scores[k]))
			}
		}
	}
	out := make([]float64, n*n)
	covered := make([]bool, n*n)
	lo, hi := math.Inf(1), math.Inf(-1)
	for j := range ny {
		for i := range nx {
			l := cells[j*nx+i]
			if len(l) == 0 {
				continue
			}
			slices.Sort(l)
			v := float64(l[min(int(q*float64(len(l))), len(l)-1)])
			lo, hi = min(lo, v), max(hi, v)
			for y := ys[j]; y < ys[j+1]; y++ {
				for x := xs[i]; x < xs[i+1]; x++ {
					out[y*n+x], covered[y*n+x] = v, true
				}
			}
		}
	}
	m := &Map{W: n, H: n, V: make([]float32, n*n), Flat: !(hi > lo)}
	if m.Flat {
		return m
	}
	for y := cy0; y < cy1; y++ {
		for x := cx0; x < cx1; x++ {
			i := y*n + x
			if covered[i] {
				m.V[i] = float32(1 - (out[i]-lo)/(hi-lo))
			}
		}
	}
	return m
}
