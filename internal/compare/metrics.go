// Package compare measures how far two saliency maps of the same image and
// concept are apart (CI regression of saliency outputs): correlations,
// peak shift, box and top-k overlap, mean absolute difference; pairs two
// output folders of convis explain, applies tolerances and writes reports.
package compare

import (
	"math"
	"slices"
)

// Map is a saliency map: w×h values, row-major.
type Map struct {
	W, H int
	V    []float32
}

// Resample returns m at w×h (bilinear, pixel centres aligned), or m itself.
func (m Map) Resample(w, h int) Map {
	if m.W == w && m.H == h {
		return m
	}
	out := Map{W: w, H: h, V: make([]float32, w*h)}
	sx, sy := float64(m.W)/float64(w), float64(m.H)/float64(h)
	for y := 0; y < h; y++ {
		v := math.Max(0, math.Min((float64(y)+0.5)*sy-0.5, float64(m.H-1)))
		y0 := int(v)
		y1 := min(y0+1, m.H-1)
		fy := float32(v - float64(y0))
		for x := 0; x < w; x++ {
			u := math.Max(0, math.Min((float64(x)+0.5)*sx-0.5, float64(m.W-1)))
			x0 := int(u)
			x1 := min(x0+1, m.W-1)
			fx := float32(u - float64(x0))
			a := m.V[y0*m.W+x0]*(1-fx) + m.V[y0*m.W+x1]*fx
			b := m.V[y1*m.W+x0]*(1-fx) + m.V[y1*m.W+x1]*fx
			out.V[y*w+x] = a*(1-fy) + b*fy
		}
	}
	return out
}

// Pearson is the correlation of two equally long series; 1 when both are
// constant and equal, 0 when one of them is constant and they differ.
func Pearson(a, b []float32) float64 {
	n := float64(len(a))
	if n == 0 {
		return 1
	}
	var sa, sb float64
	for i := range a {
		sa += float64(a[i])
		sb += float64(b[i])
	}
	ma, mb := sa/n, sb/n
	var cov, va, vb float64
	for i := range a {
		da, db := float64(a[i])-ma, float64(b[i])-mb
		cov += da * db
		va += da * da
		vb += db * db
	}
	if va == 0 || vb == 0 {
		if va == vb && meanAbsDiff(a, b) == 0 {
			return 1
		}
		return 0
	}
	return cov / math.Sqrt(va*vb)
}

// Spearman is the Pearson correlation of the ranks (ties share their mean
// rank).
func Spearman(a, b []float32) float64 {
	return Pearson(ranks(a), ranks(b))
}

func ranks(v []float32) []float32 {
	// Sorting (value, index) packed in one uint64 is several times faster
	// than sorting indices with a comparison closure.
	keys := make([]uint64, len(v))
	for i, x := range v {
		keys[i] = uint64(sortableBits(x))<<32 | uint64(i)
	}
	slices.Sort(keys)
	r := make([]float32, len(v))
	for i := 0; i < len(keys); {
		j := i
		for j+1 < len(keys) && keys[j+1]>>32 == keys[i]>>32 {
			j++
		}
		mean := float32(i+j) / 2
		for k := i; k <= j; k++ {
			r[uint32(keys[k])] = mean
		}
		i = j + 1
	}
	return r
}

// sortableBits maps a float32 to a uint32 that sorts in the same order
// (negative values flipped, positive ones offset by the sign bit).
func sortableBits(x float32) uint32 {
	b := math.Float32bits(x)
	if b&0x80000000 != 0 {
		return ^b
	}
	return b | 0x80000000
}

func meanAbsDiff(a, b []float32) float64 {
	if len(a) == 0 {
		return 0
	}
	var s float64
	for i := range a {
		s += math.Abs(float64(a[i]) - float64(b[i]))
	}
	return s / float64(len(a))
}

// Peak is the first pixel of the largest value.
func (m Map) Peak() (x, y int) {
	best := float32(math.Inf(-1))
	for i, v := range m.V {
		if v > best {
			best, x, y = v, i%m.W, i/m.W
		}
	}
	return x, y
}

// topMask marks the k share of pixels with the highest values (ties at the
// threshold included).
func topMask(v []float32, k float64) []bool {
	n := int(math.Ceil(k * float64(len(v))))
	n = max(1, min(n, len(v)))
	t := kthLargest(slices.Clone(v), n)
	m := make([]bool, len(v))
	for i, x := range v {
		m[i] = x >= t
	}
	return m
}

// TopIoU is the IoU of the two maps' top-k masks.
func TopIoU(a, b []float32, k float64) float64 {
	ma, mb := topMask(a, k), topMask(b, k)
	var inter, union int
	for i := range ma {
		if ma[i] && mb[i] {
			inter++
		}
		if ma[i] || mb[i] {
			union++
		}
	}
	if union == 0 {
		return 1
	}
	return float64(inter) / float64(union)
}

// Box is a box in pixels: [X, X+W) × [Y, Y+H).
type Box struct{ X, Y, W, H float64 }

// BoxIoU is the IoU of two boxes; two missing boxes agree (1), one missing
// does not (0).
func BoxIoU(a, b *Box) float64 {
	if a == nil && b == nil {
		return 1
	}
	if a == nil || b == nil {
		return 0
	}
	ix := math.Max(0, math.Min(a.X+a.W, b.X+b.W)-math.Max(a.X, b.X))
	iy := math.Max(0, math.Min(a.Y+a.H, b.Y+b.H)-math.Max(a.Y, b.Y))
	inter := ix * iy
	union := a.W*a.H + b.W*b.H - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

// kthLargest returns the n-th largest value (1-based) of s, reordering s:
// quickselect, linear time where a sort would be n log n.
func kthLargest(s []float32, n int) float32 {
	target := len(s) - n // index in ascending order
	lo, hi := 0, len(s)-1
	for lo < hi {
		// Median of three as the pivot keeps sorted maps linear.
		mid := lo + (hi-lo)/2
		a, b, c := s[lo], s[mid], s[hi]
		pivot := max(min(a, b), min(max(a, b), c))
		i, j := lo, hi
		for i <= j {
			for s[i] < pivot {
				i++
			}
			for s[j] > pivot {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		switch {
		case target <= j:
			hi = j
		case target >= i:
			lo = i
		default:
			return s[target]
		}
	}
	return s[target]
}
