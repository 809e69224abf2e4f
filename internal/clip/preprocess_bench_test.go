package clip

import "testing"

// BenchmarkPreprocessCrop is one ConVis window: a 128-pixel crop resized to
// 224 with Pillow's bicubic and normalised into the batch buffer.
func BenchmarkPreprocessCrop(b *testing.B) {
	p := NewPreprocessor(PreprocessConfig{DoConvertRGB: true, DoResize: true, ShortestEdge: 224, Resample: 3, DoCenterCrop: true,
		CropW: 224, CropH: 224, DoRescale: true, RescaleFactor: 1.0 / 255, DoNormalize: true,
		Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.25, 0.25, 0.25}})
	im := NewRGB(128, 128)
	for i := range im.Pix {
		im.Pix[i] = uint8(i * 7)
	}
	dst := make([]float32, 3*224*224)
	for i := 0; i < b.N; i++ {
		if err := p.Into(dst, im); err != nil {
			b.Fatal(err)
		}
	}
}
