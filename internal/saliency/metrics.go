package saliency

import (
	"math"
	"math/rand/v2"
	"sort"
)

// IoU is the intersection over union of two boxes.
func IoU(a, b Rect) float64 {
	ix := max(0, min(a.X+a.W, b.X+b.W)-max(a.X, b.X))
	iy := max(0, min(a.Y+a.H, b.Y+b.H)-max(a.Y, b.Y))
	inter := float64(ix * iy)
	union := float64(a.W*a.H+b.W*b.H) - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

// PointingTolerance is the pointing game's tolerance at 224 pixels.
const PointingTolerance = 15.0

// PointingHit reports whether the map's peak falls inside the box grown by
// the tolerance (15 px at 224, scaled with the map's larger side).
func PointingHit(m *Map, box Rect) bool {
	if m.Flat {
		return false
	}
	tol := PointingTolerance * float64(max(m.W, m.H)) / 224
	x, y := m.Peak()
	cx, cy := float64(x)+0.5, float64(y)+0.5
	return cx >= float64(box.X)-tol && cx <= float64(box.X+box.W)+tol && cy >= float64(box.Y)-tol && cy <= float64(box.Y+box.H)+tol
}

// EnergyPointing is the share of the map's total inside the box.
func EnergyPointing(m *Map, box Rect) float64 {
	var in, all float64
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			v := float64(m.V[y*m.W+x])
			all += v
			if x >= box.X && x < box.X+box.W && y >= box.Y && y < box.Y+box.H {
				in += v
			}
		}
	}
	if all == 0 {
		return 0
	}
	return in / all
}

// BoxThresholds are MaxBoxAcc's thresholds: 0.00, 0.01, … 0.99.
const BoxThresholds = 100

// BoxHits marks, for each threshold t/100, whether the box of the largest
// 4-connected component at t has IoU > 0.5 with the truth (MaxBoxAcc as the
// reference computes it).
func BoxHits(m *Map, truth Rect) []bool {
	hits := make([]bool, BoxThresholds)
	if m.Flat {
		return hits
	}
	boxes, ok := m.boxesAtThresholds()
	for t := range hits {
		hits[t] = ok[t] && IoU(boxes[t], truth) > 0.5
	}
	return hits
}

// boxesAtThresholds is BoxAt(t/100) for every t < BoxThresholds in one
// pass: pixels join a union-find in descending order of value, and the
// largest component (ties: the one whose first pixel comes first, as
// Regions' stable sort orders them) is kept as components grow. A flood
// fill per threshold cost 100 passes over the map and was most of eval's
// time; a map with a NaN takes that path, whose treatment of NaN this
// does not copy.
func (m *Map) boxesAtThresholds() ([]Rect, []bool) {
	boxes, ok := make([]Rect, BoxThresholds), make([]bool, BoxThresholds)
	for _, v := range m.V {
		if v != v {
			for t := range boxes {
				boxes[t], ok[t] = m.BoxAt(float32(t) / 100)
			}
			return boxes, ok
		}
	}
	n := len(m.V)
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	sort.Slice(order, func(a, b int) bool { return m.V[order[a]] > m.V[order[b]] })
	type comp struct{ area, first, minX, minY, maxX, maxY int }
	parent := make([]int32, n)
	for i := range parent {
		parent[i] = -1 // below the current threshold
	}
	comps := make([]comp, n) // valid at roots
	find := func(i int32) int32 {
		r := i
		for parent[r] != r {
			r = parent[r]
		}
		for parent[i] != r {
			parent[i], i = r, parent[i]
		}
		return r
	}
	best := int32(-1)
	better := func(a, b int32) bool { // is root a's component before root b's?
		if b < 0 {
			return true
		}
		ca, cb := &comps[a], &comps[b]
		return ca.area > cb.area || ca.area == cb.area && ca.first < cb.first
	}
	union := func(a, b int32) int32 {
		ra, rb := find(a), find(b)
		if ra == rb {
			return ra
		}
		if comps[ra].area < comps[rb].area {
			ra, rb = rb, ra
		}
		parent[rb] = ra
		c, d := &comps[ra], &comps[rb]
		c.area += d.area
		c.first = min(c.first, d.first)
		c.minX, c.minY, c.maxX, c.maxY = min(c.minX, d.minX), min(c.minY, d.minY), max(c.maxX, d.maxX), max(c.maxY, d.maxY)
		return ra
	}
	next := 0
	for t := BoxThresholds - 1; t >= 0; t-- {
		th := float32(t) / 100
		for ; next < n && m.V[order[next]] >= th; next++ {
			i := order[next]
			x, y := int(i)%m.W, int(i)/m.W
			parent[i] = i
			comps[i] = comp{area: 1, first: int(i), minX: x, minY: y, maxX: x, maxY: y}
			r := i
			for _, q := range [4][2]int{{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}} {
				if q[0] < 0 || q[1] < 0 || q[0] >= m.W || q[1] >= m.H {
					continue
				}
				if j := int32(q[1]*m.W + q[0]); parent[j] >= 0 {
					r = union(r, j)
				}
			}
			// A component only grows, and a merged one outgrows both of
			// its parts: comparing the grown one with the best suffices.
			if r = find(r); best < 0 || better(r, best) || find(best) == r {
				best = r
			}
		}
		if best >= 0 {
			c := comps[best]
			boxes[t], ok[t] = Rect{c.minX, c.minY, c.maxX - c.minX + 1, c.maxY - c.minY + 1}, true
		}
	}
	return boxes, ok
}

// MaxBoxAcc is the best accuracy over thresholds of per-sample hit lists.
func MaxBoxAcc(hits [][]bool) (acc float64, threshold float64) {
	if len(hits) == 0 {
		return 0, 0
	}
	for t := 0; t < BoxThresholds; t++ {
		n := 0
		for _, h := range hits {
			if h[t] {
				n++
			}
		}
		if a := float64(n) / float64(len(hits)); a > acc {
			acc, threshold = a, float64(t)/100
		}
	}
	return acc, threshold
}

// Interval is a mean with a 95% bootstrap confidence interval.
type Interval struct {
	Mean float64 `json:"mean"`
	Lo   float64 `json:"ci95_lo"`
	Hi   float64 `json:"ci95_hi"`
}

// MeanOf is the mean of v over a resample's indexes (0 for none): the
// statistic most bootstraps of this project take.
func MeanOf(v []float64) func(idx []int) float64 {
	return func(idx []int) float64 {
		if len(idx) == 0 {
			return 0
		}
		t := 0.0
		for _, i := range idx {
			t += v[i]
		}
		return t / float64(len(idx))
	}
}

// Bootstrap resamples stat over the n samples (indexes) 1,000 times with a
// seeded generator and returns the statistic with its 2.5/97.5 percentiles.
func Bootstrap(n int, seed uint64, stat func(idx []int) float64) Interval {
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	out := Interval{Mean: stat(all)}
	if n == 0 {
		return out
	}
	rng := rand.New(rand.NewPCG(seed, 0x626f6f74)) // "boot"
	const rounds = 1000
	vals := make([]float64, rounds)
	idx := make([]int, n)
	for r := range vals {
		for i := range idx {
			idx[i] = rng.IntN(n)
		}
		vals[r] = stat(idx)
	}
	sort.Float64s(vals)
	out.Lo, out.Hi = vals[int(0.025*rounds)], vals[int(math.Ceil(0.975*rounds))-1]
	return out
}

// CenterPrior is the baseline map that ignores the image: a Gaussian at
// the centre with σ a quarter of each side.
func CenterPrior(w, h int) *Map {
	m := &Map{W: w, H: h, V: make([]float32, w*h)}
	sx, sy := float64(w)/4, float64(h)/4
	for y := 0; y < h; y++ {
		dy := (float64(y) + 0.5 - float64(h)/2) / sy
		for x := 0; x < w; x++ {
			dx := (float64(x) + 0.5 - float64(w)/2) / sx
			m.V[y*w+x] = float32(math.Exp(-(dx*dx + dy*dy) / 2))
		}
	}
	return m
}
