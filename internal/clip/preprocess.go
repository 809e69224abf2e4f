package clip

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
)

// PreprocessConfig is a Hugging Face image processor's configuration, as
// CLIPImageProcessor (shortest-edge resize, centre crop) and
// SiglipImageProcessor (plain resize to {height, width}, no crop) write it.
type PreprocessConfig struct {
	DoConvertRGB bool
	DoResize     bool
	ShortestEdge int // resize target of the shortest edge (ResizeRule "")
	// ResizeRule is "" for the shortest-edge rule and "exact" for a plain
	// resize to ResizeW×ResizeH (size {height, width}). Empty for the
	// shortest-edge rule so that CLIP configurations marshal, and so key
	// their window caches, as they did before the rule existed.
	ResizeRule       string `json:",omitempty"`
	ResizeW, ResizeH int    `json:",omitempty"`
	Resample         int    // PIL filter id: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming
	DoCenterCrop     bool
	CropW, CropH     int
	DoRescale        bool
	RescaleFactor    float64
	DoNormalize      bool
	Mean, Std        [3]float32
}

// LoadPreprocessConfig reads preprocessor_config.json, accepting both the
// integer and the dict forms of size and crop_size.
func LoadPreprocessConfig(path string) (PreprocessConfig, error) {
	var raw map[string]json.RawMessage
	if err := readJSON(path, &raw); err != nil {
		return PreprocessConfig{}, err
	}
	c := PreprocessConfig{DoConvertRGB: true, DoResize: true, ShortestEdge: 224, Resample: 3, DoCenterCrop: true,
		CropW: 224, CropH: 224, DoRescale: true, RescaleFactor: 1.0 / 255, DoNormalize: true,
		Mean: [3]float32{0.48145466, 0.4578275, 0.40821073}, Std: [3]float32{0.26862954, 0.26130258, 0.27577711}}
	bad := func(key string, err error) error {
		return fmt.Errorf("%s: %s: %v", filepath.Base(path), key, err)
	}
	boolKey := func(key string, dst *bool) error {
		if v, ok := raw[key]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return bad(key, err)
			}
		}
		return nil
	}
	for k, dst := range map[string]*bool{"do_convert_rgb": &c.DoConvertRGB, "do_resize": &c.DoResize, "do_center_crop": &c.DoCenterCrop, "do_rescale": &c.DoRescale, "do_normalize": &c.DoNormalize} {
		if err := boolKey(k, dst); err != nil {
			return c, err
		}
	}
	if v, ok := raw["size"]; ok {
		var n int
		var m map[string]int
		if json.Unmarshal(v, &n) == nil {
			c.ShortestEdge = n
		} else if json.Unmarshal(v, &m) == nil {
			if se, ok := m["shortest_edge"]; ok {
				c.ShortestEdge = se
			} else if m["height"] > 0 && m["width"] > 0 {
				// transformers resizes to exactly (height, width) here, in
				// CLIP's processor as in SigLIP's.
				c.ResizeRule, c.ResizeW, c.ResizeH = "exact", m["width"], m["height"]
				c.ShortestEdge = 0
			} else {
				return c, bad("size", fmt.Errorf("unsupported %s (want shortest_edge or height and width)", v))
			}
		} else {
			return c, bad("size", fmt.Errorf("unsupported %s", v))
		}
		if c.ResizeRule == "" && c.ShortestEdge <= 0 {
			return c, bad("size", fmt.Errorf("want a positive size, got %s", v))
		}
	}
	// A processor without crop_size and do_center_crop does not crop
	// unless it is CLIP's, whose default is to crop to 224 (SigLIP's and
	// MobileCLIP-style configurations resize to the input size and stop).
	_, hasCrop := raw["crop_size"]
	_, hasDoCrop := raw["do_center_crop"]
	if !hasCrop && !hasDoCrop && c.ResizeRule == "exact" {
		c.DoCenterCrop = false
	}
	if v, ok := raw["crop_size"]; ok {
		var n int
		var m map[string]int
		if json.Unmarshal(v, &n) == nil {
			c.CropW, c.CropH = n, n
		} else if json.Unmarshal(v, &m) == nil && m["height"] > 0 && m["width"] > 0 {
			c.CropW, c.CropH = m["width"], m["height"]
		} else {
			return c, bad("crop_size", fmt.Errorf("unsupported %s", v))
		}
	}
	if v, ok := raw["resample"]; ok {
		if err := json.Unmarshal(v, &c.Resample); err != nil || c.Resample < 0 || c.Resample > 5 {
			return c, bad("resample", fmt.Errorf("want 0–5, got %s", v))
		}
	}
	if v, ok := raw["rescale_factor"]; ok {
		if err := json.Unmarshal(v, &c.RescaleFactor); err != nil {
			return c, bad("rescale_factor", err)
		}
	}
	for key, dst := range map[string]*[3]float32{"image_mean": &c.Mean, "image_std": &c.Std} {
		if v, ok := raw[key]; ok {
			var arr []float32
			if err := json.Unmarshal(v, &arr); err != nil || len(arr) != 3 {
				return c, bad(key, fmt.Errorf("want 3 numbers"))
			}
			copy(dst[:], arr)
		}
	}
	if v, ok := raw["resample"]; ok && c.Resample == 0 {
		return c, bad("resample", fmt.Errorf("0 (nearest) is not implemented: convis resamples with Pillow's lanczos (1), bilinear (2), bicubic (3), box (4) or hamming (5) filters; got %s", v))
	}
	if !c.DoCenterCrop {
		// The model's input is what the resize produces.
		switch {
		case c.ResizeRule == "exact":
			c.CropW, c.CropH = c.ResizeW, c.ResizeH
		case !hasCrop:
			c.CropW, c.CropH = c.ShortestEdge, c.ShortestEdge
		}
	}
	if !c.DoResize && !c.DoCenterCrop {
		return c, bad("do_resize", fmt.Errorf("neither resizing nor cropping: the model's input size is unknown"))
	}
	if c.CropW <= 0 || c.CropH <= 0 {
		return c, bad("crop_size", fmt.Errorf("want a positive input size, got %dx%d", c.CropW, c.CropH))
	}
	if c.ResizeRule == "" && c.DoResize && !c.DoCenterCrop {
		return c, bad("do_center_crop", fmt.Errorf("a shortest-edge resize without a centre crop gives inputs of each image's own aspect, which a fixed-size model cannot take (want size {height, width}, or do_center_crop)"))
	}
	return c, nil
}

// ResizeSide is the side a square window is resized to before any centre
// crop: the shortest edge, or the plain resize's (square) size.
func (c PreprocessConfig) ResizeSide() int {
	if c.ResizeRule == "exact" {
		return c.ResizeW
	}
	return c.ShortestEdge
}

// resampleNames are Pillow's filter ids as transformers writes them.
var resampleNames = map[int]string{0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}

// PreprocessSummary is what a sidecar records of the preprocessing: enough
// to say how the model saw each window.
type PreprocessSummary struct {
	InputSize [2]int     `json:"input_size"` // width, height of the model's input
	Resize    string     `json:"resize"`     // "shortest_edge 224, center_crop 224x224" or "exact 256x256"
	Resample  string     `json:"resample"`
	Rescale   float64    `json:"rescale_factor"`
	Mean      [3]float32 `json:"image_mean"`
	Std       [3]float32 `json:"image_std"`
}

// Summary describes the configuration for sidecars and `model info`.
func (c PreprocessConfig) Summary() PreprocessSummary {
	s := PreprocessSummary{InputSize: [2]int{c.CropW, c.CropH}, Resample: resampleNames[c.Resample], Mean: [3]float32{0, 0, 0}, Std: [3]float32{1, 1, 1}}
	var parts []string
	switch {
	case !c.DoResize:
		parts = append(parts, "none")
	case c.ResizeRule == "exact":
		parts = append(parts, fmt.Sprintf("exact %dx%d", c.ResizeW, c.ResizeH))
	default:
		parts = append(parts, fmt.Sprintf("shortest_edge %d", c.ShortestEdge))
	}
	if c.DoCenterCrop {
		parts = append(parts, fmt.Sprintf("center_crop %dx%d", c.CropW, c.CropH))
	}
	s.Resize = strings.Join(parts, ", ")
	if c.DoRescale {
		s.Rescale = c.RescaleFactor
	} else {
		s.Rescale = 1
	}
	if c.DoNormalize {
		s.Mean, s.Std = c.Mean, c.Std
	}
	return s
}

// InputSize is the width of the model input (its side when square).
func (c PreprocessConfig) InputSize() int { return c.CropW }

// InputValues is the number of values of one preprocessed image (3·H·W).
func (c PreprocessConfig) InputValues() int { return 3 * c.CropW * c.CropH }

// RGB is an 8-bit RGB image, 3 bytes per pixel, rows packed.
type RGB struct {
	W, H int
	Pix  []uint8
}

// NewRGB allocates a w×h image.
func NewRGB(w, h int) *RGB { return &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)} }

// SubImage copies the rectangle [x, x+w)×[y, y+h), which must lie inside.
func (im *RGB) SubImage(x, y, w, h int) *RGB {
	out := NewRGB(w, h)
	for r := 0; r < h; r++ {
		copy(out.Pix[r*w*3:(r+1)*w*3], im.Pix[((y+r)*im.W+x)*3:((y+r)*im.W+x+w)*3])
	}
	return out
}

// Preprocessor turns RGB images into model input, reusing resampling
// weights across calls (every ConVis crop has one of two sizes).
type Preprocessor struct {
	Config PreprocessConfig
	cache  weightCache
}

// NewPreprocessor returns a preprocessor for a configuration.
func NewPreprocessor(c PreprocessConfig) *Preprocessor { return &Preprocessor{Config: c} }

// Resized returns the size an image is resized to: the shortest edge to
// ShortestEdge, the other edge scaled and truncated as transformers does.
func (p *Preprocessor) resizedSize(w, h int) (int, int) {
	if p.Config.ResizeRule == "exact" {
		return p.Config.ResizeW, p.Config.ResizeH
	}
	s := p.Config.ShortestEdge
	if w <= h {
		return s, int(float64(s) * float64(h) / float64(w))
	}
	return int(float64(s) * float64(w) / float64(h)), s
}

// Into writes one preprocessed image (3×H×W, NCHW: the input size) into
// dst, which must hold 3·H·W values, as transformers' image processors do:
// resize (the shortest edge, or to {height, width}), centre crop, rescale,
// normalise.
func (p *Preprocessor) Into(dst []float32, im *RGB) error {
	c := p.Config
	if n := c.InputValues(); len(dst) != n {
		return fmt.Errorf("preprocess: destination holds %d values, want %d", len(dst), n)
	}
	src := im
	if c.DoResize {
		w, h := p.resizedSize(im.W, im.H)
		if w != im.W || h != im.H {
			src = p.resize(im, w, h)
		}
	}
	return p.IntoResized(dst, src)
}

// CropResizer returns a resizer for square crops of src that gives what
// Into's resize step would, or nil when the configuration does not resize
// a square crop to a square (a plain resize to a non-square input).
func (p *Preprocessor) CropResizer(src *RGB) *CropResizer {
	c := p.Config
	if !c.DoResize || (c.ResizeRule == "exact" && c.ResizeW != c.ResizeH) {
		return nil
	}
	return NewCropResizer(src, c.ResizeSide(), c.Resample)
}

// IntoResized is Into for an image already resized (by CropResizer): centre
// crop, rescale and normalise.
func (p *Preprocessor) IntoResized(dst []float32, src *RGB) error {
	c := p.Config
	W, H := c.CropW, c.CropH
	if n := c.InputValues(); len(dst) != n {
		return fmt.Errorf("preprocess: destination holds %d values, want %d", len(dst), n)
	}
	x0, y0 := 0, 0
	if c.DoCenterCrop {
		x0, y0 = (src.W-W)/2, (src.H-H)/2
	}
	scale := float32(1)
	if c.DoRescale {
		scale = float32(c.RescaleFactor)
	}
	// A byte has 256 values: each channel's (v·scale − mean)/std is looked
	// up, the same float32 operations as computing it, once per value.
	var lut [3][256]float32
	var pad [3]float32
	for ch := 0; ch < 3; ch++ {
		mean, std := float32(0), float32(1)
		if c.DoNormalize {
			mean, std = c.Mean[ch], c.Std[ch]
		}
		for v := range lut[ch] {
			lut[ch][v] = (float32(v)*scale - mean) / std
		}
		pad[ch] = -mean / std
	}
	N := W * H
	p0, p1, p2 := dst[:N], dst[N:2*N], dst[2*N:3*N]
	if x0 >= 0 && y0 >= 0 && x0+W <= src.W && y0+H <= src.H {
		// The crop lies inside the image (every window of a map): whole
		// rows, no per-pixel bounds.
		l0, l1, l2 := &lut[0], &lut[1], &lut[2]
		for y := 0; y < H; y++ {
			row := src.Pix[((y+y0)*src.W+x0)*3 : ((y+y0)*src.W+x0+W)*3]
			o0, o1, o2 := p0[y*W:(y+1)*W], p1[y*W:(y+1)*W], p2[y*W:(y+1)*W]
			for x := range o0 {
				px := row[3*x : 3*x+3 : 3*x+3]
				o0[x], o1[x], o2[x] = l0[px[0]], l1[px[1]], l2[px[2]]
			}
		}
		return nil
	}
	for y := 0; y < H; y++ {
		sy := y + y0
		for x := 0; x < W; x++ {
			sx := x + x0
			i := y*W + x
			if sx >= 0 && sy >= 0 && sx < src.W && sy < src.H {
				px := src.Pix[(sy*src.W+sx)*3 : (sy*src.W+sx)*3+3]
				p0[i], p1[i], p2[i] = lut[0][px[0]], lut[1][px[1]], lut[2][px[2]]
			} else {
				// pad with zeros where the crop exceeds the image, as transformers does
				p0[i], p1[i], p2[i] = pad[0], pad[1], pad[2]
			}
		}
	}
	return nil
}

// Resize resamples an image with the configured PIL filter.
func (p *Preprocessor) resize(im *RGB, w, h int) *RGB {
	return resample(im, w, h, p.Config.Resample, &p.cache)
}

// ResizeBicubic resamples with PIL's bicubic filter (the ConVis canvas).
func ResizeBicubic(im *RGB, w, h int) *RGB { return resample(im, w, h, 3, nil) }
