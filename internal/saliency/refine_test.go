package saliency

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/embedcache"
)

// blobMap is a map over the image square that is 1 inside [x0,x1)×[y0,y1),
// falling off linearly to 0.3 over fall pixels, and 0.3 elsewhere.
func blobMap(n, x0, y0, x1, y1, fall int) *Map {
	m := &Map{W: n, H: n, V: make([]float32, n*n)}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			d := max(x0-x, x-(x1-1), y0-y, y-(y1-1), 0)
			m.V[y*n+x] = 0.3 + 0.7*max(0, 1-float32(d)/float32(fall))
		}
	}
	return m
}

// The plan covers the coarse box grown by the margin, stays on the canvas
// and within the image's content, and respects the bound on passes.
func TestRefinePlan(t *testing.T) {
	c, err := NewCanvas(testImage(224, 224), DefaultCanvas())
	if err != nil {
		t.Fatal(err)
	}
	rp := BoxRefine()
	square := blobMap(224, 80, 90, 130, 150, 40)
	boxes := refinePlan(c, square, rp)
	if len(boxes) == 0 || len(boxes) > rp.MaxPasses {
		t.Fatalf("%d windows (bound %d)", len(boxes), rp.MaxPasses)
	}
	coarse := square.BoxesBy(rp.Rule, false).Boxes[0]
	o := c.Opts.Offset
	minX, minY, maxX, maxY := 1<<30, 1<<30, -1, -1
	for _, b := range boxes {
		if b.W != rp.Size || b.H != rp.Size || b.X < 0 || b.Y < 0 || b.X+b.W > c.Opts.Size || b.Y+b.H > c.Opts.Size {
			t.Fatalf("window %+v", b)
		}
		minX, minY = min(minX, b.X+b.W/2), min(minY, b.Y+b.H/2)
		maxX, maxY = max(maxX, b.X+b.W/2), max(maxY, b.Y+b.H/2)
	}
	// Window centres reach the grown box's edges, to within a stride.
	if minX > coarse.X+o-rp.Margin+rp.Stride || maxX < coarse.X+coarse.W+o+rp.Margin-rp.Stride ||
		minY > coarse.Y+o-rp.Margin+rp.Stride || maxY < coarse.Y+coarse.H+o+rp.Margin-rp.Stride {
		t.Fatalf("centres span [%d,%d]×[%d,%d], coarse box %+v (offset %d)", minX, maxX, minY, maxY, coarse, o)
	}
	// A region of the whole image needs a wider stride to fit the bound.
	wide := refinePlan(c, blobMap(224, 0, 0, 224, 224, 1), rp)
	if len(wide) == 0 || len(wide) > rp.MaxPasses {
		t.Fatalf("whole-image region: %d windows (bound %d)", len(wide), rp.MaxPasses)
	}
	// A flat map has no box, so nothing to refine.
	if got := refinePlan(c, &Map{W: 224, H: 224, V: make([]float32, 224*224), Flat: true}, rp); len(got) != 0 {
		t.Fatalf("flat map: %d windows", len(got))
	}
}

// Fine windows that rank the concept well only over part of the coarse
// blob move its edges: the refined map's box shrinks to that part, and the
// map stays normalised with its peak there.
func TestRefineMapMovesTheEdges(t *testing.T) {
	c, err := NewCanvas(testImage(224, 224), DefaultCanvas())
	if err != nil {
		t.Fatal(err)
	}
	o := c.Opts.Offset
	rp := BoxRefine()
	square := blobMap(224, 60, 60, 160, 160, 50)
	boxes := refinePlan(c, square, rp)
	// The object is [60,110)×[60,110): windows centred on it rank 0, others 500.
	ranks := make([]float64, len(boxes))
	for k, b := range boxes {
		cx, cy := b.X+b.W/2-o, b.Y+b.H/2-o
		if cx < 60 || cx >= 110 || cy < 60 || cy >= 110 {
			ranks[k] = 500
		}
	}
	refined := refineMap(c, square, boxes, ranks, rp.Weight, rp.Smooth)
	before := square.BoxesBy(rp.Rule, false).Boxes[0]
	after := refined.BoxesBy(rp.Rule, false).Boxes[0]
	object := Rect{X: 60, Y: 60, W: 50, H: 50}
	if IoU(after, object) <= IoU(before, object) || IoU(after, object) < 0.5 {
		t.Fatalf("box %+v (IoU %.2f) → %+v (IoU %.2f) with the object %+v", before, IoU(before, object), after, IoU(after, object), object)
	}
	lo, hi := refined.V[0], refined.V[0]
	for _, v := range refined.V {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo != 0 || hi != 1 {
		t.Fatalf("refined map spans [%v, %v]", lo, hi)
	}
	if x, y := refined.Peak(); x < 60 || x >= 110 || y < 60 || y >= 110 {
		t.Fatalf("peak at %d,%d", x, y)
	}
}

// Through Explain: --refine box adds its windows' passes (bounded per
// concept) to the map's, changes the maps, and the window cache gives the
// same bits on a hit with nothing encoded.
func TestExplainRefine(t *testing.T) {
	rp := BoxRefine()
	ex, concepts, img, p, plain := explainPlainThenRefine(t, rp)
	miss, err := ex.Explain(context.Background(), img, concepts, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if miss.RefineWindows == 0 || miss.RefineWindows > len(concepts)*rp.MaxPasses || miss.RefinePasses != miss.RefineWindows ||
		miss.Stats.Passes != plain.Stats.Passes+miss.RefinePasses {
		t.Fatalf("refine windows %d, passes %d, map passes %d (plain %d)", miss.RefineWindows, miss.RefinePasses, miss.Stats.Passes, plain.Stats.Passes)
	}
	assertMapsChanged(t, plain, miss)
	hit, err := ex.Explain(context.Background(), img, concepts, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if hit.Stats.Passes != 0 || hit.RefinePasses != 0 || hit.WindowCache != embedcache.Hit {
		t.Fatalf("second run: %d passes, %d refine passes, cache %s", hit.Stats.Passes, hit.RefinePasses, hit.WindowCache)
	}
	assertSameMaps(t, miss, hit)
}

// The default refinement's windows are one fixed grid over the image: the
// same 196 passes for any number of concepts, encoded once, and a concept
// asked later on the same image is a cache hit (nothing encoded) with the
// bits of the map made together with the others.
func TestExplainRefineImage(t *testing.T) {
	ex, concepts, img, p, plain := explainPlainThenRefine(t, DefaultRefine())
	if len(concepts) < 2 {
		t.Fatal("the fixture needs two concepts")
	}
	var progressed, total int
	miss, err := ex.Explain(context.Background(), img, concepts, p, func(done, n int) { progressed, total = done, n })
	if err != nil {
		t.Fatal(err)
	}
	if miss.RefinePasses != 196 || miss.RefineWindows != 196 || miss.Stats.Passes != plain.Stats.Passes+196 || miss.WindowCache != embedcache.Miss {
		t.Fatalf("refine windows %d, passes %d, map passes %d (plain %d), cache %s", miss.RefineWindows, miss.RefinePasses, miss.Stats.Passes, plain.Stats.Passes, miss.WindowCache)
	}
	if progressed != total || total != plain.Stats.Passes+196 {
		t.Fatalf("progress ended at %d of %d", progressed, total)
	}
	assertMapsChanged(t, plain, miss)
	second, err := ex.Explain(context.Background(), img, concepts[1:2], p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if second.Stats.Passes != 0 || second.WindowCache != embedcache.Hit {
		t.Fatalf("another concept on the same image: %d passes, cache %s", second.Stats.Passes, second.WindowCache)
	}
	for i, v := range miss.Maps[1].Map.V {
		if second.Maps[0].Map.V[i] != v {
			t.Fatalf("the concept's map alone differs at %d from the one made with the others", i)
		}
	}
}

// explainPlainThenRefine explains a test square with Algorithm 1's map
// (no cache), then returns params set to refine with rp and the explainer
// with a fresh window cache, for the refined runs to compare with it.
func explainPlainThenRefine(t *testing.T, rp RefineParams) (*Explainer, []Concept, *clip.RGB, Params, *Explanation) {
	t.Helper()
	ex, _, concepts := fixture(t)
	img := testImage(224, 224)
	p := DefaultParams()
	plain, err := ex.Explain(context.Background(), img, concepts, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Refine = &rp
	ex.Cache, ex.ModelKey = embedcache.NewEmbeddings(t.TempDir(), 0), "test"
	return ex, concepts, img, p, plain
}

func assertMapsChanged(t *testing.T, a, b *Explanation) {
	t.Helper()
	for k := range a.Maps {
		for i := range a.Maps[k].Map.V {
			if a.Maps[k].Map.V[i] != b.Maps[k].Map.V[i] {
				return
			}
		}
	}
	t.Fatal("refinement left every map unchanged")
}

func assertSameMaps(t *testing.T, a, b *Explanation) {
	t.Helper()
	for k := range a.Maps {
		for i, v := range a.Maps[k].Map.V {
			if b.Maps[k].Map.V[i] != v {
				t.Fatalf("map %d differs at %d on a cache hit", k, i)
			}
		}
	}
}

// FineWindows tiles the image's content (not the padding of a non-square
// image) with a window centred on every stride cell, inside the canvas.
func TestFineWindows(t *testing.T) {
	rp := DefaultRefine()
	for _, tc := range []struct{ w, h, want int }{{224, 224, 196}, {320, 240, 14 * 11}, {240, 320, 11 * 14}, {50, 50, 196}} {
		c, err := NewCanvas(testImage(tc.w, tc.h), DefaultCanvas())
		if err != nil {
			t.Fatal(err)
		}
		boxes := FineWindows(c, rp)
		if len(boxes) != tc.want {
			t.Fatalf("%dx%d: %d windows, want %d", tc.w, tc.h, len(boxes), tc.want)
		}
		x0, y0, x1, y1 := c.ContentRect()
		covered := map[[2]int]bool{}
		for _, b := range boxes {
			if b.W != rp.Size || b.X < 0 || b.Y < 0 || b.X+b.W > c.Opts.Size || b.Y+b.H > c.Opts.Size || !b.Overlaps(x0, y0, x1, y1) {
				t.Fatalf("%dx%d: window %+v (content %d,%d–%d,%d)", tc.w, tc.h, b, x0, y0, x1, y1)
			}
			for y := b.Y; y < b.Y+b.H; y++ {
				for x := b.X; x < b.X+b.W; x++ {
					covered[[2]int{x, y}] = true
				}
			}
		}
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				if !covered[[2]int{x, y}] {
					t.Fatalf("%dx%d: content pixel %d,%d not covered", tc.w, tc.h, x, y)
				}
			}
		}
	}
}

// Log ranks: the best ranks spread apart and the background's poor ranks
// close up: ranks 0 and 5 lie about as far apart as 50 and 500 (on the
// linear scale, 90 times nearer).
func TestLogRanks(t *testing.T) {
	rp := DefaultRefine()
	v := rp.scale([]float64{0, 5, 50, 500})
	if v[0] != 0 || math.Abs(v[1]-math.Log(6)) > 1e-12 || !(v[1]-v[0] > 0.75*(v[3]-v[2])) {
		t.Fatalf("log ranks %v", v)
	}
	rp.LogRanks = false
	if lin := rp.scale([]float64{0, 2}); lin[1] != 2 {
		t.Fatalf("linear ranks %v", lin)
	}
}

// Regression: EmbedWindows closed a nil channel when called without a sink.
func TestEmbedWindowsWithoutSink(t *testing.T) {
	ex, _, _ := fixture(t)
	c, err := NewCanvas(clip.NewRGB(64, 64), DefaultCanvas())
	if err != nil {
		t.Fatal(err)
	}
	rows, stats, err := EmbedWindows(context.Background(), c, []Box{{X: 128, Y: 128, W: 64, H: 64}}, ex.Encoder, ex.Pre, 1, nil, nil)
	if err != nil || len(rows) != 1 || stats.Passes != 1 {
		t.Fatalf("%d rows, %d passes, %v", len(rows), stats.Passes, err)
	}
}

// QuantileMap takes, per pixel, the quantile of the ranks of the windows
// covering it: where a well-ranked window overlaps a badly ranked one the
// pixel is only as salient as the quantile says, unlike the sum of
// Algorithm 1, which spreads the good window over its whole area.
func TestQuantileMap(t *testing.T) {
	c, err := NewCanvas(testImage(224, 224), DefaultCanvas())
	if err != nil {
		t.Fatal(err)
	}
	o := c.Opts.Offset
	windows := []Box{{o, o, 64, 64}, {o + 32, o + 32, 64, 64}, {o, o, 224, 224}}
	ranks := []float64{0, 10, 20}
	m := QuantileMap(c, windows, ranks, 0.75)
	// (5,5): ranks {0, 20} → 20; (40,40): {0, 10, 20} → 20; (80,80): {10, 20} → 20;
	// (150,150): {20} → 20. With q = 0.25: 0, 0, 10, 20.
	if !m.Flat {
		t.Fatalf("q 0.75: every pixel's quantile is 20, want a flat map")
	}
	m = QuantileMap(c, windows, ranks, 0.25)
	at := func(x, y int) float32 { return m.V[y*m.W+x] }
	if at(5, 5) != 1 || at(40, 40) != 1 || at(80, 80) != 0.5 || at(150, 150) != 0 {
		t.Fatalf("q 0.25: %v %v %v %v, want 1 1 0.5 0", at(5, 5), at(40, 40), at(80, 80), at(150, 150))
	}
}

// QuantileMap's rectangles of equal coverage give the bits of a per-pixel
// quantile (the reference below, the code before 2026-12-02), for random
// windows anywhere on the canvas, inside or over a non-square image's
// padding, and random scores with ties.
func TestQuantileMapEqualsPerPixelQuantile(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := range 20 {
		w, h := 224, 224
		if trial%2 == 1 {
			w, h = 400, 300
		}
		c, err := NewCanvas(testImage(w, h), DefaultCanvas())
		if err != nil {
			t.Fatal(err)
		}
		full := c.Opts.Offset*2 + c.Opts.ImageSize
		var windows []Box
		var scores []float64
		for range 1 + rng.IntN(300) {
			s := []int{32, 48, 64, 128}[rng.IntN(4)]
			windows = append(windows, Box{X: rng.IntN(full - s), Y: rng.IntN(full - s), W: s, H: s})
			scores = append(scores, float64(rng.IntN(50)))
		}
		q := []float64{0.25, 0.5, 0.75, 1}[trial%4]
		got, want := QuantileMap(c, windows, scores, q), perPixelQuantile(c, windows, scores, q)
		if got.Flat != want.Flat || !slices.Equal(got.V, want.V) {
			t.Fatalf("trial %d (%d windows, q %v): the maps differ", trial, len(windows), q)
		}
	}
}

func perPixelQuantile(c *Canvas, windows []Box, scores []float64, q float64) *Map {
	n, o := c.Opts.ImageSize, c.Opts.Offset
	cx0, cy0, cx1, cy1 := c.ContentRect()
	cx0, cy0, cx1, cy1 = cx0-o, cy0-o, cx1-o, cy1-o
	per := make([][]float32, n*n)
	for k, b := range windows {
		for y := max(b.Y-o, cy0); y < min(b.Y-o+b.H, cy1); y++ {
			for x := max(b.X-o, cx0); x < min(b.X-o+b.W, cx1); x++ {
				per[y*n+x] = append(per[y*n+x], float32(scores[k]))
			}
		}
	}
	out := make([]float64, n*n)
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, l := range per {
		if len(l) > 0 {
			slices.Sort(l)
			out[i] = float64(l[min(int(q*float64(len(l))), len(l)-1)])
			lo, hi = min(lo, out[i]), max(hi, out[i])
		}
	}
	m := &Map{W: n, H: n, V: make([]float32, n*n), Flat: !(hi > lo)}
	if !m.Flat {
		for i, l := range per {
			if len(l) > 0 {
				m.V[i] = float32(1 - (out[i]-lo)/(hi-lo))
			}
		}
	}
	return m
}

// The default box rule follows the map: rel:0.4 on the log-rank maps of
// the default refinement, rel:0.8 on Algorithm 1's, on the box region's
// linear maps and on the other methods'.
func TestDefaultBoxRule(t *testing.T) {
	img, box := DefaultRefine(), BoxRefine()
	for _, tc := range []struct {
		method Method
		refine *RefineParams
		want   string
	}{
		{MethodGrid, &img, "rel:0.4"}, {MethodGrid, nil, "rel:0.8"}, {MethodGrid, &box, "rel:0.8"},
		{MethodOcclusion, &img, "rel:0.8"}, {MethodStochastic, nil, "rel:0.8"},
	} {
		p := DefaultParams()
		p.Method, p.Refine = tc.method, tc.refine
		if got := DefaultBoxRule(p).String(); got != tc.want {
			t.Errorf("%s, refine %v: %s, want %s", tc.method, tc.refine != nil, got, tc.want)
		}
	}
}

// The box filter averages within r, truncated at the rectangle's edges,
// and leaves everything outside the rectangle alone.
func TestBoxFilter(t *testing.T) {
	n := 6
	v := make([]float64, n*n)
	v[2*n+2] = 9 // one spike inside the rectangle [1,5)×[1,5)
	v[0] = 7     // outside it
	boxFilter(v, n, 1, 1, 5, 5, 1)
	at := func(x, y int) float64 { return v[y*n+x] }
	// Inside, a 3×3 mean holding the spike: 9/9. At the rectangle's
	// corner (1,1) the window is truncated to the 2×2 within it, the spike
	// one of the four: 9/4. (4,4) is out of the spike's reach, (0,0)
	// outside the rectangle.
	if at(2, 2) != 1 || at(3, 3) != 1 || at(1, 1) != 9.0/4 || at(4, 4) != 0 || at(0, 0) != 7 {
		t.Fatalf("filtered: (2,2) %v (3,3) %v (1,1) %v (4,4) %v (0,0) %v", at(2, 2), at(3, 3), at(1, 1), at(4, 4), at(0, 0))
	}
}

// The default grid's windows on a square (730, scores with ties): the
// rectangles of equal coverage against the per-pixel quantile of before.
func BenchmarkQuantileMap(b *testing.B) {
	c, err := NewCanvas(testImage(224, 224), DefaultCanvas())
	if err != nil {
		b.Fatal(err)
	}
	windows, err := GridPlan(c, []int{128, 64}, 16, true)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	scores := make([]float64, len(windows))
	for i := range scores {
		scores[i] = math.Log1p(float64(rng.IntN(7000)))
	}
	b.Run("rectangles", func(b *testing.B) {
		for b.Loop() {
			QuantileMap(c, windows, scores, 0.75)
		}
	})
	b.Run("per-pixel", func(b *testing.B) {
		for b.Loop() {
			perPixelQuantile(c, windows, scores, 0.75)
		}
	})
}
