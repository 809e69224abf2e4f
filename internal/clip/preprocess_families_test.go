package clip

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writePre(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "preprocessor_config.json")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPreprocessFamilies reads the configurations each family's processor
// writes and checks the input size, rule and normalisation convis takes.
func TestPreprocessFamilies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		size       int
		resize     string
		resample   string
		mean       float32
	}{
		{"clip336", `{"crop_size": {"height": 336, "width": 336}, "do_center_crop": true, "size": {"shortest_edge": 336}, "resample": 3, "image_processor_type": "CLIPImageProcessor"}`,
			336, "shortest_edge 336, center_crop 336x336", "bicubic", 0.48145466},
		{"siglip256", `{"do_normalize": true, "do_rescale": true, "do_resize": true, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "image_processor_type": "SiglipImageProcessor", "resample": 2, "rescale_factor": 0.00392156862745098, "size": {"height": 256, "width": 256}}`,
			256, "exact 256x256", "bilinear", 0.5},
		{"mobileclip256", `{"crop_size": 256, "do_center_crop": true, "do_normalize": false, "size": 256, "resample": 2}`,
			256, "shortest_edge 256, center_crop 256x256", "bilinear", 0},
		{"legacy-int", `{"crop_size": 224, "size": 224}`, 224, "shortest_edge 224, center_crop 224x224", "bicubic", 0.48145466},
		{"nonsquare", `{"size": {"height": 128, "width": 192}, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}`, 192, "exact 192x128", "bicubic", 0.5},
		{"siglip512", `{"size": {"height": 512, "width": 512}, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}`, 512, "exact 512x512", "bicubic", 0.5},
	}
	for _, c := range cases {
		cfg, err := LoadPreprocessConfig(writePre(t, c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		s := cfg.Summary()
		h := c.size
		if c.name == "nonsquare" {
			h = 128
		}
		if cfg.InputSize() != c.size || s.InputSize != [2]int{c.size, h} || s.Resize != c.resize || s.Resample != c.resample || s.Mean[0] != c.mean {
			t.Errorf("%s: input %d, summary %+v; want %d, %q, %s, mean %v", c.name, cfg.InputSize(), s, c.size, c.resize, c.resample, c.mean)
		}
	}
}

func TestPreprocessConfigErrors(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`{"size": {"height": 256, "width": 256}, "resample": 0}`:    "resample: 0 (nearest) is not implemented",
		`{"size": {"longest_edge": 256}}`:                           "size: unsupported",
		`{"size": {"shortest_edge": 224}, "do_center_crop": false}`: "do_center_crop: a shortest-edge resize without a centre crop",
		`{"do_resize": false, "do_center_crop": false}`:             "input size is unknown",
	} {
		_, err := LoadPreprocessConfig(writePre(t, body))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "preprocessor_config.json: ") {
			t.Errorf("%s: error %v, want one naming the file and %q", body, err, want)
		}
	}
}

// TestExactResizeIgnoresAspect: SigLIP's plain resize stretches a 40×30
// image to the input square (no crop), as transformers' resize to
// (height, width) does; a square window takes the same path as a crop.
func TestExactResizeIgnoresAspect(t *testing.T) {
	t.Parallel()
	cfg, err := LoadPreprocessConfig(writePre(t, `{"size": {"height": 16, "width": 16}, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "resample": 2}`))
	if err != nil {
		t.Fatal(err)
	}
	im := NewRGB(40, 30)
	for i := range im.Pix {
		im.Pix[i] = uint8(i * 7)
	}
	p := NewPreprocessor(cfg)
	got := make([]float32, 3*16*16)
	if err := p.Into(got, im); err != nil {
		t.Fatal(err)
	}
	want := make([]float32, 3*16*16)
	r := resample(im, 16, 16, 2, nil)
	for y := 0; y < 16; y++ {
		for x := 0; x < 16; x++ {
			for ch := 0; ch < 3; ch++ {
				want[ch*256+y*16+x] = (float32(r.Pix[(y*16+x)*3+ch])*float32(1.0/255) - 0.5) / 0.5
			}
		}
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("value %d: %v, want %v", i, got[i], want[i])
		}
	}
	// A non-square input: the same plain resize, to 24×16.
	cfg.ResizeW, cfg.CropW = 24, 24
	wide := NewPreprocessor(cfg)
	if wide.CropResizer(im) != nil {
		t.Fatal("a crop resizer for a non-square resize")
	}
	got24 := make([]float32, 3*24*16)
	if err := wide.Into(got24, im); err != nil {
		t.Fatal(err)
	}
	r24 := resample(im, 24, 16, 2, nil)
	for i := 0; i < 24*16; i++ {
		for ch := 0; ch < 3; ch++ {
			if want := (float32(r24.Pix[i*3+ch])*float32(1.0/255) - 0.5) / 0.5; got24[ch*24*16+i] != want {
				t.Fatalf("24×16: value %d/%d: %v, want %v", i, ch, got24[ch*24*16+i], want)
			}
		}
	}
	// A square window resized by the crop resizer equals the direct path.
	sq := im.SubImage(4, 2, 24, 24)
	direct := make([]float32, len(got))
	if err := p.Into(direct, sq); err != nil {
		t.Fatal(err)
	}
	viaCrop := make([]float32, len(got))
	if err := p.IntoResized(viaCrop, p.CropResizer(im).Resize(4, 2, 24)); err != nil {
		t.Fatal(err)
	}
	for i := range direct {
		if direct[i] != viaCrop[i] {
			t.Fatalf("window value %d: crop resizer %v, direct %v", i, viaCrop[i], direct[i])
		}
	}
}
