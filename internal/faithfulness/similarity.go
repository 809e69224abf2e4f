package faithfulness

import (
	"fmt"
	"math"
	"sort"
)

// Spearman is the rank correlation of two maps over their pixels (ties
// take their mean rank): 1 when one orders the pixels as the other, −1
// when reversed. NaN when either map is constant.
func Spearman(a, b []float32) (float64, error) {
	if len(a) != len(b) || len(a) < 2 {
		return 0, fmt.Errorf("spearman: maps of %d and %d values", len(a), len(b))
	}
	return pearson(ranks(a), ranks(b)), nil
}

func ranks(v []float32) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(x, y int) bool { return v[idx[x]] < v[idx[y]] })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		mean := float64(i+j) / 2
		for k := i; k <= j; k++ {
			r[idx[k]] = mean
		}
		i = j + 1
	}
	return r
}

func pearson(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx, my = mx+x[i], my+y[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy, sxx, syy = sxy+dx*dy, sxx+dx*dx, syy+dy*dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// SSIMWindow is the side of SSIM's window (scikit-image's default, 7).
const SSIMWindow = 7

// SSIM is the mean structural similarity of two w×h maps with values in
// [0, 1]: over every 7×7 window inside the map, with uniform weights and
// the sample covariance, C1 = (0.01)², C2 = (0.03)² (scikit-image's
// structural_similarity with data_range 1, whose numbers papers report).
func SSIM(a, b []float32, w, h int) (float64, error) {
	if len(a) != w*h || len(b) != w*h {
		return 0, fmt.Errorf("ssim: maps of %d and %d values for %dx%d", len(a), len(b), w, h)
	}
	if w < SSIMWindow || h < SSIMWindow {
		return 0, fmt.Errorf("ssim: a %dx%d map is smaller than the %d-pixel window", w, h, SSIMWindow)
	}
	const c1, c2 = 0.01 * 0.01, 0.03 * 0.03
	// Summed-area tables of a, b, a², b², ab.
	sat := func(f func(i int) float64) []float64 {
		s := make([]float64, (w+1)*(h+1))
		for y := 0; y < h; y++ {
			row := 0.0
			for x := 0; x < w; x++ {
				row += f(y*w + x)
				s[(y+1)*(w+1)+x+1] = s[y*(w+1)+x+1] + row
			}
		}
		return s
	}
	sa := sat(func(i int) float64 { return float64(a[i]) })
	sb := sat(func(i int) float64 { return float64(b[i]) })
	saa := sat(func(i int) float64 { return float64(a[i]) * float64(a[i]) })
	sbb := sat(func(i int) float64 { return float64(b[i]) * float64(b[i]) })
	sab := sat(func(i int) float64 { return float64(a[i]) * float64(b[i]) })
	box := func(s []float64, x, y int) float64 {
		x1, y1 := x+SSIMWindow, y+SSIMWindow
		return s[y1*(w+1)+x1] - s[y*(w+1)+x1] - s[y1*(w+1)+x] + s[y*(w+1)+x]
	}
	const n = SSIMWindow * SSIMWindow
	cov := float64(n) / float64(n-1)
	total, count := 0.0, 0
	for y := 0; y+SSIMWindow <= h; y++ {
		for x := 0; x+SSIMWindow <= w; x++ {
			ma, mb := box(sa, x, y)/n, box(sb, x, y)/n
			va := cov * (box(saa, x, y)/n - ma*ma)
			vb := cov * (box(sbb, x, y)/n - mb*mb)
			vab := cov * (box(sab, x, y)/n - ma*mb)
			total += (2*ma*mb + c1) * (2*vab + c2) / ((ma*ma + mb*mb + c1) * (va + vb + c2))
			count++
		}
	}
	return total / float64(count), nil
}
