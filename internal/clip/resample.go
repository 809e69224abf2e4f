package clip

import (
	"math"
	"sync"
)

// Resampling as Pillow's Image.resize does it for 8-bit images (the
// reference stack: Hugging Face's CLIPImageProcessor and the ConVis
// reference both resize with Pillow): separable convolution with the filter
// widened when downscaling (antialiasing), 22-bit fixed-point weights,
// horizontal pass, rounding to 8 bits, vertical pass. Written here because
// golang.org/x/image/draw's kernels neither antialias nor round like Pillow,
// and matching Pillow keeps convis's maps equal to the reference's.

const precisionBits = 32 - 8 - 2

type resampleFilter struct {
	support float64
	f       func(float64) float64
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	x *= math.Pi
	return math.Sin(x) / x
}

var resampleFilters = map[int]resampleFilter{
	1: {3, func(x float64) float64 { // lanczos
		if x > -3 && x < 3 {
			return sinc(x) * sinc(x/3)
		}
		return 0
	}},
	2: {1, func(x float64) float64 { // bilinear
		x = math.Abs(x)
		if x < 1 {
			return 1 - x
		}
		return 0
	}},
	3: {2, func(x float64) float64 { // bicubic, a = -0.5
		const a = -0.5
		x = math.Abs(x)
		if x < 1 {
			return ((a+2)*x-(a+3))*x*x + 1
		}
		if x < 2 {
			return (((x-5)*x+8)*x - 4) * a
		}
		return 0
	}},
	4: {0.5, func(x float64) float64 { // box
		if x > -0.5 && x <= 0.5 {
			return 1
		}
		return 0
	}},
	5: {1, func(x float64) float64 { // hamming
		x = math.Abs(x)
		if x == 0 {
			return 1
		}
		if x >= 1 {
			return 0
		}
		x *= math.Pi
		return math.Sin(x) / x * (0.54 + 0.46*math.Cos(x))
	}},
}

// coeffs are one axis's fixed-point weights: output i reads
// in[bounds[2i] : bounds[2i]+bounds[2i+1]] with weights k[i*ksize:].
type coeffs struct {
	ksize  int
	bounds []int
	k      []int32
}

type weightKey struct{ in, out, filter int }

type weightCache struct {
	mu sync.Mutex
	m  map[weightKey]*coeffs
}

func (c *weightCache) get(in, out, filter int) *coeffs {
	if c == nil {
		return precompute(in, out, filter)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	key := weightKey{in, out, filter}
	if w, ok := c.m[key]; ok {
		return w
	}
	if c.m == nil {
		c.m = map[weightKey]*coeffs{}
	}
	w := precompute(in, out, filter)
	c.m[key] = w
	return w
}

func precompute(inSize, outSize, filter int) *coeffs {
	fl := resampleFilters[filter]
	scale := float64(inSize) / float64(outSize)
	filterscale := math.Max(scale, 1)
	support := fl.support * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := &coeffs{ksize: ksize, bounds: make([]int, 2*outSize), k: make([]int32, outSize*ksize)}
	pre := make([]float64, ksize)
	for xx := 0; xx < outSize; xx++ {
		center := (float64(xx) + 0.5) * scale
		ss := 1 / filterscale
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			w := fl.f((float64(x+xmin) - center + 0.5) * ss)
			pre[x] = w
			ww += w
		}
		for x := 0; x < xmax; x++ {
			if ww != 0 {
				pre[x] /= ww
			}
			v := pre[x] * (1 << precisionBits)
			if v < 0 {
				c.k[xx*ksize+x] = int32(v - 0.5)
			} else {
				c.k[xx*ksize+x] = int32(v + 0.5)
			}
		}
		c.bounds[2*xx], c.bounds[2*xx+1] = xmin, xmax
	}
	return c
}

func clip8(v int64) uint8 {
	v >>= precisionBits
	if uint64(v) <= 255 { // the common case first: one predictable branch
		return uint8(v)
	}
	if v < 0 {
		return 0
	}
	return 255
}

func resample(im *RGB, w, h, filter int, cache *weightCache) *RGB {
	if filter == 0 {
		return resampleNearest(im, w, h)
	}
	if _, ok := resampleFilters[filter]; !ok {
		filter = 3
	}
	src := im
	if w != im.W {
		cw := cache.get(im.W, w, filter)
		tmp := NewRGB(w, im.H)
		for y := 0; y < im.H; y++ {
			row := im.Pix[y*im.W*3 : (y+1)*im.W*3]
			out := tmp.Pix[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				xmin, n := cw.bounds[2*x], cw.bounds[2*x+1]
				k := cw.k[x*cw.ksize : x*cw.ksize+n]
				var r, g, b int64 = 1 << (precisionBits - 1), 1 << (precisionBits - 1), 1 << (precisionBits - 1)
				for i, kv := range k {
					p := row[(xmin+i)*3:]
					r += int64(p[0]) * int64(kv)
					g += int64(p[1]) * int64(kv)
					b += int64(p[2]) * int64(kv)
				}
				out[x*3], out[x*3+1], out[x*3+2] = clip8(r), clip8(g), clip8(b)
			}
		}
		src = tmp
	}
	if h != src.H {
		ch := cache.get(src.H, h, filter)
		out := NewRGB(src.W, h)
		stride := src.W * 3
		acc := make([]int32, stride)
		for y := 0; y < h; y++ {
			ymin, n := ch.bounds[2*y], ch.bounds[2*y+1]
			k := ch.k[y*ch.ksize : y*ch.ksize+n]
			verticalRow(out.Pix[y*stride:(y+1)*stride], src.Pix, stride, ymin, k, acc)
		}
		src = out
	}
	if src == im {
		cp := NewRGB(im.W, im.H)
		copy(cp.Pix, im.Pix)
		return cp
	}
	return src
}

// verticalRow computes one output row of a vertical pass: the sum of the
// source rows ymin, ymin+1, … (rows of stride bytes in pix) weighted by k,
// rounded and clipped as Pillow does (int32: the weights sum to 1<<22 and
// pixels are below 256). Four taps, the common case for bicubic
// upsampling, are summed in one sweep over the row; other counts
// accumulate in acc one whole source row at a time. Either way memory is
// read sequentially and the sums are the same integers.
func verticalRow(dst, pix []uint8, stride, ymin int, k []int32, acc []int32) {
	const half = 1 << (precisionBits - 1)
	if len(k) == 4 {
		r0 := pix[ymin*stride : (ymin+1)*stride]
		r1 := pix[(ymin+1)*stride : (ymin+2)*stride][:len(r0)]
		r2 := pix[(ymin+2)*stride : (ymin+3)*stride][:len(r0)]
		r3 := pix[(ymin+3)*stride : (ymin+4)*stride][:len(r0)]
		dst = dst[:len(r0)]
		k0, k1, k2, k3 := k[0], k[1], k[2], k[3]
		for x := range r0 {
			dst[x] = clip8(int64(half + int32(r0[x])*k0 + int32(r1[x])*k1 + int32(r2[x])*k2 + int32(r3[x])*k3))
		}
		return
	}
	for x := range acc {
		acc[x] = half
	}
	for i, kv := range k {
		row := pix[(ymin+i)*stride : (ymin+i+1)*stride]
		for x, v := range row {
			acc[x] += int32(v) * kv
		}
	}
	for x, a := range acc {
		dst[x] = clip8(int64(a))
	}
}

// resampleNearest is Pillow's NEAREST: the source pixel under each output
// pixel's centre.
func resampleNearest(im *RGB, w, h int) *RGB {
	out := NewRGB(w, h)
	sx, sy := float64(im.W)/float64(w), float64(im.H)/float64(h)
	for y := 0; y < h; y++ {
		yy := min(int((float64(y)+0.5)*sy), im.H-1)
		for x := 0; x < w; x++ {
			xx := min(int((float64(x)+0.5)*sx), im.W-1)
			copy(out.Pix[(y*w+x)*3:(y*w+x)*3+3], im.Pix[(yy*im.W+xx)*3:(yy*im.W+xx)*3+3])
		}
	}
	return out
}
