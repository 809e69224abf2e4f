package faithfulness

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSpearmanAndSSIM(t *testing.T) {
	t.Parallel()
	const w, h = 16, 12
	rng := rand.New(rand.NewPCG(3, 4))
	a, rev, noise := make([]float32, w*h), make([]float32, w*h), make([]float32, w*h)
	for i := range a {
		a[i] = float32(i%w+i/w) / float32(w+h) // a smooth ramp
		rev[i] = 1 - a[i]
		noise[i] = rng.Float32()
	}
	// A monotone transform keeps the order: Spearman 1.
	sq := make([]float32, len(a))
	for i, v := range a {
		sq[i] = v * v
	}
	for _, c := range []struct {
		name string
		b    []float32
		want float64
	}{{"same", a, 1}, {"squared", sq, 1}, {"reversed", rev, -1}} {
		if r, err := Spearman(a, c.b); err != nil || math.Abs(r-c.want) > 1e-12 {
			t.Errorf("spearman %s: %v, %v; want %v", c.name, r, err, c.want)
		}
	}
	// Hand case with a tie: ranks (0.5, 0.5, 2) and (0, 1, 2).
	if r, _ := Spearman([]float32{1, 1, 2}, []float32{1, 2, 3}); math.Abs(r-math.Sqrt(3)/2) > 1e-12 {
		t.Errorf("spearman with a tie: %v, want √3/2", r)
	}
	if r, _ := Spearman(a, make([]float32, len(a))); !math.IsNaN(r) {
		t.Errorf("spearman with a constant map: %v, want NaN", r)
	}
	if s, err := SSIM(a, a, w, h); err != nil || math.Abs(s-1) > 1e-9 {
		t.Errorf("ssim of a map with itself: %v, %v", s, err)
	}
	same, _ := SSIM(a, a, w, h)
	other, _ := SSIM(a, noise, w, h)
	flipped, _ := SSIM(a, rev, w, h)
	if !(other < 0.5 && flipped < 0 && other < same) {
		t.Errorf("ssim: noise %v, reversed %v", other, flipped)
	}
	if _, err := SSIM(a[:10], a, w, h); err == nil {
		t.Error("ssim of mismatched maps")
	}
}
