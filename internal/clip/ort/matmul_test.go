package ort

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/convis/convis/internal/clip"
)

// The Gemm session computes rows × Bᵀ: every product within float32
// rounding of a float64 dot product, and the same bits whether a row is
// multiplied alone or in a batch (the ranking relies on that for maps that
// are identical with the window cache on and off).
func TestMatMulProducts(t *testing.T) {
	rt := runtimeForTest(t)
	const p, d, n = 1000, 96, 7
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]float32, p*d)
	for i := range b {
		b[i] = r.Float32()*2 - 1
	}
	rows := make([]float32, n*d)
	for i := range rows {
		rows[i] = r.Float32()*2 - 1
	}
	mm, out := products(t, rt, b, rows, p, d, n)
	for i := 0; i < n; i++ {
		for j := 0; j < p; j++ {
			var want float64
			for k := 0; k < d; k++ {
				want += float64(rows[i*d+k]) * float64(b[j*d+k])
			}
			if got := float64(out[i*p+j]); math.Abs(got-want) > 1e-4 {
				t.Fatalf("product [%d,%d] = %v, want %v", i, j, got, want)
			}
		}
	}
	one := make([]float32, p)
	for i := 0; i < n; i++ {
		if err := mm.Products(context.Background(), rows[i*d:(i+1)*d], 1, one); err != nil {
			t.Fatal(err)
		}
		for j := range one {
			if math.Float32bits(one[j]) != math.Float32bits(out[i*p+j]) {
				t.Fatalf("row %d alone differs from the batch at %d: %v vs %v", i, j, one[j], out[i*p+j])
			}
		}
	}
	if err := mm.Products(context.Background(), rows[:d+1], 1, one); err == nil {
		t.Fatal("a row of the wrong length was accepted")
	}
}

// Ranks from the vectorised product against ranks from a scalar float32
// loop (convis's ranking before): the products differ in float order, so
// a rank may differ only where prompts tie with the best one to within
// float32 rounding (1e-6 on unit vectors). Measured here on 7,080 prompts
// of 128 values and 64 windows, every prompt as the set.
func TestMatMulRanksEqualScalarUpToTies(t *testing.T) {
	rt := runtimeForTest(t)
	const p, d, n = 7080, 128, 64
	r := rand.New(rand.NewPCG(11, 12))
	unitRows := func(count int) []float32 {
		v := make([]float32, count*d)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		for i := 0; i < count; i++ {
			clip.Normalize(v[i*d : (i+1)*d])
		}
		return v
	}
	b, rows := unitRows(p), unitRows(n)
	_, out := products(t, rt, b, rows, p, d, n)
	// rank is the number of values above best, counted in a sorted copy
	// (a count over all prompts for each prompt was most of this test's
	// time: 64 × 7,080² comparisons).
	rank := func(sorted []float32, best float32) int {
		return len(sorted) - sort.Search(len(sorted), func(k int) bool { return sorted[k] > best })
	}
	sortedCopy := func(v []float32) []float32 {
		s := slices.Clone(v)
		slices.Sort(s)
		return s
	}
	differ := 0
	for i := 0; i < n; i++ {
		scalar := make([]float32, p)
		for j := 0; j < p; j++ {
			var s float32
			for k := 0; k < d; k++ {
				s += rows[i*d+k] * b[j*d+k]
			}
			scalar[j] = s
		}
		vec := out[i*p : (i+1)*p]
		sortedVec, sortedScalar := sortedCopy(vec), sortedCopy(scalar)
		for j := 0; j < p; j++ {
			if math.Abs(float64(vec[j]-scalar[j])) > 1e-6 {
				t.Fatalf("window %d prompt %d: %v vectorised, %v scalar", i, j, vec[j], scalar[j])
			}
			rv, rs := rank(sortedVec, vec[j]), rank(sortedScalar, scalar[j])
			if rv == rs {
				continue
			}
			differ++
			near := 0
			for q, v := range scalar {
				if q != j && math.Abs(float64(v-scalar[j])) <= 2e-6 {
					near++
				}
			}
			if abs := max(rv-rs, rs-rv); abs > near {
				t.Fatalf("window %d prompt %d: rank %d vectorised, %d scalar, but only %d prompts within 2e-6", i, j, rv, rs, near)
			}
		}
	}
	t.Logf("%d of %d ranks differ, each by no more than the prompts tied within float32 rounding", differ, n*p)
}

// products makes a MatMul of b (p×d) and multiplies the n rows with it.
func products(t *testing.T, rt *Runtime, b, rows []float32, p, d, n int) (*MatMul, []float32) {
	t.Helper()
	mm, err := rt.NewMatMul(b, p, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mm.Close() })
	out := make([]float32, n*p)
	if err := mm.Products(context.Background(), rows, n, out); err != nil {
		t.Fatal(err)
	}
	return mm, out
}
