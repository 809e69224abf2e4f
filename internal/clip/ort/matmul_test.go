package ort

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
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
	mm, err := rt.NewMatMul(b, p, d)
	if err != nil {
		t.Fatal(err)
	}
	defer mm.Close()
	out := make([]float32, n*p)
	if err := mm.Products(context.Background(), rows, n, out); err != nil {
		t.Fatal(err)
	}
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
