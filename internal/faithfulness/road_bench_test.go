package faithfulness

import (
	"math/rand/v2"
	"testing"

	"github.com/convis/convis/internal/clip"
)

func BenchmarkImpute(b *testing.B) {
	const w, h = 224, 224
	rng := rand.New(rand.NewPCG(1, 1))
	img := clip.NewRGB(w, h)
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
	}
	for _, c := range []struct {
		name string
		f    func(x, y int) bool
	}{{"scattered", func(x, y int) bool { return rng.Float64() < 0.5 }}, {"block", func(x, y int) bool { return x > 40 && x < 190 && y > 30 && y < 200 }}} {
		removed := make([]bool, w*h)
		for i := range removed {
			removed[i] = c.f(i%w, i/w)
		}
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				Impute(img, removed, RoadNoise, 0)
			}
		})
	}
}
