package clip

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// The fast crop resizer must equal Pillow's crop-then-resize (resample on
// the crop) byte for byte, on the grid and off it.
func TestCropResizerEqualsDirect(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	src := NewRGB(480, 480)
	for i := range src.Pix {
		src.Pix[i] = uint8(r.IntN(256))
	}
	cr := NewCropResizer(src, 224, 3)
	check := func(x, y, s int) {
		want := resample(cr.crop(x, y, s), 224, 224, 3, nil)
		if got := cr.Resize(x, y, s); !bytes.Equal(got.Pix, want.Pix) {
			t.Fatalf("crop %d,%d size %d differs", x, y, s)
		}
	}
	for _, s := range []int{128, 64} {
		for y := 0; y+s <= 480; y += 16 {
			for x := 0; x+s <= 480; x += 48 {
				check(x, y, s)
			}
		}
	}
	for i := 0; i < 50; i++ {
		s := []int{128, 64, 100, 224, 37}[i%5]
		check(r.IntN(480-s), r.IntN(480-s), s)
	}
	check(464, 464, 128) // beyond the canvas: black, as Pillow's crop
}

func BenchmarkCropResizerGrid(b *testing.B) {
	src := NewRGB(480, 480)
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 13)
	}
	for i := 0; i < b.N; i++ {
		cr := NewCropResizer(src, 224, 3)
		for _, s := range []int{128, 64} {
			for y := 128 - s + 16; y < 352; y += 16 {
				for x := 128 - s + 16; x < 352; x += 16 {
					cr.Resize(x, y, s)
				}
			}
		}
	}
}

// Regression (issue 20.7): the shared vertical band was resized to a
// truncated height, so canvases and window sizes whose ratio is not whole
// (canvas 490, windows of 100) gave rows that differ from Pillow. Every
// canvas × window × stride-aligned position of a grid is checked.
func TestCropResizerEqualsDirectOverAGrid(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, canvas := range []int{480, 490, 500, 333} {
		src := NewRGB(canvas, canvas)
		for i := range src.Pix {
			src.Pix[i] = uint8(r.IntN(256))
		}
		for _, out := range []int{224, 160} {
			cr := NewCropResizer(src, out, 3)
			for _, s := range []int{128, 100, 96, 64, 48, 37} {
				for y := 0; y+s <= canvas; y += 16 {
					for x := 0; x+s <= canvas; x += 64 {
						want := resample(cr.crop(x, y, s), out, out, 3, nil)
						if got := cr.Resize(x, y, s); !bytes.Equal(got.Pix, want.Pix) {
							t.Fatalf("canvas %d, out %d: crop %d,%d size %d differs", canvas, out, x, y, s)
						}
					}
				}
			}
		}
	}
}

// IntoResized looks each byte's normalised value up in a table: the same
// bits as (v·scale − mean)/std computed per pixel, zeros (−mean/std)
// where a centre crop exceeds the image.
func TestIntoResizedEqualsTheFormula(t *testing.T) {
	cfg := PreprocessConfig{DoConvertRGB: true, DoResize: true, ShortestEdge: 224, Resample: 3, DoCenterCrop: true,
		CropW: 224, CropH: 224, DoRescale: true, RescaleFactor: 1.0 / 255, DoNormalize: true,
		Mean: [3]float32{0.48145466, 0.4578275, 0.40821073}, Std: [3]float32{0.26862954, 0.26130258, 0.27577711}}
	p := NewPreprocessor(cfg)
	r := rand.New(rand.NewPCG(8, 9))
	for _, size := range [][2]int{{224, 224}, {260, 230}, {200, 224}} {
		src := NewRGB(size[0], size[1])
		for i := range src.Pix {
			src.Pix[i] = uint8(r.IntN(256))
		}
		dst := make([]float32, 3*224*224)
		if err := p.IntoResized(dst, src); err != nil {
			t.Fatal(err)
		}
		x0, y0 := (src.W-224)/2, (src.H-224)/2
		for ch := 0; ch < 3; ch++ {
			for y := 0; y < 224; y++ {
				for x := 0; x < 224; x++ {
					sx, sy := x+x0, y+y0
					v := -cfg.Mean[ch]
					if sx >= 0 && sy >= 0 && sx < src.W && sy < src.H {
						v = float32(src.Pix[(sy*src.W+sx)*3+ch])*float32(cfg.RescaleFactor) - cfg.Mean[ch]
					}
					if want, got := v/cfg.Std[ch], dst[ch*224*224+y*224+x]; math.Float32bits(want) != math.Float32bits(got) {
						t.Fatalf("%v: channel %d (%d,%d) = %v, want %v", size, ch, x, y, got, want)
					}
				}
			}
		}
	}
}

// BenchmarkPrepareGridWindows is a map's crop preparation, windows of 64
// and 128 every 16 over a 224 canvas, resized and normalised as
// EmbedWindows does (a fused pass that normalised straight from the shared
// band rows was measured 8% slower than this copy-then-normalise).
func BenchmarkPrepareGridWindows(b *testing.B) {
	cfg := PreprocessConfig{DoConvertRGB: true, DoResize: true, ShortestEdge: 224, Resample: 3, DoCenterCrop: true,
		CropW: 224, CropH: 224, DoRescale: true, RescaleFactor: 1.0 / 255, DoNormalize: true,
		Mean: [3]float32{0.48145466, 0.4578275, 0.40821073}, Std: [3]float32{0.26862954, 0.26130258, 0.27577711}}
	p := NewPreprocessor(cfg)
	src := NewRGB(224, 224)
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 13)
	}
	dst := make([]float32, 3*224*224)
	windows := 0
	for i := 0; i < b.N; i++ {
		cr := p.CropResizer(src)
		var scratch *RGB
		for _, s := range []int{128, 64} {
			for y := 0; y+s <= 224; y += 16 {
				for x := 0; x+s <= 224; x += 16 {
					windows++
					scratch = cr.ResizeInto(scratch, x, y, s)
					if err := p.IntoResized(dst, scratch); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(windows), "µs/window")
}
