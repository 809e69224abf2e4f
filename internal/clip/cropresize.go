package clip

// CropResizer resizes square crops of one image, as Pillow's
// image.crop(box).resize((out, out)) does, byte for byte, but reuses work
// between crops: ConVis cuts hundreds of overlapping windows of two sizes
// from one canvas.
//
// Pillow resizes a crop in two passes: horizontally (each row of the crop,
// rounded to 8 bits), then vertically. The horizontal pass of a row depends
// only on the crop's left edge and size, so it is computed once per (size,
// left edge) for every row of the source ("bands"). The vertical pass of an
// output row that does not touch the crop's top or bottom edge equals the
// same row of the whole band resized vertically, shifted by the crop's top
// edge, whenever that shift is a whole number of output rows (windows on a
// stride that the scale divides, as ConVis's grid). Only the few rows at a
// crop's top and bottom, where Pillow clips the filter to the crop, are
// recomputed. Other crops fall back to the direct computation. Band rows
// are computed when a crop first needs them: a grid over the image part of
// a canvas never reads the band rows far above or below it.
type CropResizer struct {
	src    *RGB
	out    int
	filter int
	hband  map[[2]int]*band // (size, x0) → src.H rows × out × 3
	vband  map[[2]int]*band // (size, x0) → (src.H·out/size) rows × out × 3
	cache  weightCache
	acc    []int32
}

// band is rows of out×3 bytes, each computed on first use.
type band struct {
	pix  []uint8
	done []bool
}

func newBand(rows, stride int) *band {
	return &band{pix: make([]uint8, rows*stride), done: make([]bool, rows)}
}

// NewCropResizer prepares to resize crops of src to out×out with a Pillow filter (3: bicubic).
func NewCropResizer(src *RGB, out, filter int) *CropResizer {
	if _, ok := resampleFilters[filter]; !ok {
		filter = 3
	}
	return &CropResizer{src: src, out: out, filter: filter, hband: map[[2]int]*band{}, vband: map[[2]int]*band{}, acc: make([]int32, 3*out)}
}

// Resize returns the crop [x0, x0+s) × [y0, y0+s) of the source resized to out×out.
func (c *CropResizer) Resize(x0, y0, s int) *RGB { return c.ResizeInto(nil, x0, y0, s) }

// ResizeInto is Resize writing into out when it is out×out (a map's
// hundreds of crops then reuse one buffer); it returns the result.
func (c *CropResizer) ResizeInto(out *RGB, x0, y0, s int) *RGB {
	if x0 < 0 || y0 < 0 || x0+s > c.src.W || y0+s > c.src.H || s == c.out {
		return resample(c.crop(x0, y0, s), c.out, c.out, c.filter, &c.cache)
	}
	if out == nil || out.W != c.out || out.H != c.out {
		out = NewRGB(c.out, c.out)
	}
	stride := c.out * 3
	cw := c.cache.get(s, c.out, c.filter)
	shift := y0 * c.out
	// The band resized as a whole has the crop's scale only when its
	// height maps to a whole number of output rows; otherwise (canvas 490,
	// windows of 100) its weights differ from the crop's.
	if shift%s == 0 && (c.src.H*c.out)%s == 0 {
		off := shift / s
		top, bottom := clippedRows(cw, s)
		v := c.vertical(x0, s, off+top, off+bottom)
		copy(out.Pix[top*stride:bottom*stride], v[(off+top)*stride:(off+bottom)*stride])
		c.verticalRows(out, x0, s, cw, y0, 0, top)
		c.verticalRows(out, x0, s, cw, y0, bottom, c.out)
		return out
	}
	c.verticalRows(out, x0, s, cw, y0, 0, c.out)
	return out
}

func (c *CropResizer) crop(x0, y0, s int) *RGB {
	out := NewRGB(s, s)
	for y := 0; y < s; y++ {
		sy := y0 + y
		if sy < 0 || sy >= c.src.H {
			continue
		}
		for x := 0; x < s; x++ {
			sx := x0 + x
			if sx < 0 || sx >= c.src.W {
				continue
			}
			copy(out.Pix[(y*s+x)*3:(y*s+x)*3+3], c.src.Pix[(sy*c.src.W+sx)*3:(sy*c.src.W+sx)*3+3])
		}
	}
	return out
}

// clippedRows returns the first and one past the last output row whose
// filter lies wholly inside the crop (the same weights as in the band).
func clippedRows(cw *coeffs, s int) (top, bottom int) {
	full := cw.ksize
	n := len(cw.bounds) / 2
	top, bottom = 0, n
	// A row is unclipped when its taps equal the unclipped kernel's width
	// and it starts after the first source row and ends before the last.
	for top < n && (cw.bounds[2*top] == 0 || cw.bounds[2*top+1] < full-1) {
		top++
	}
	for bottom > top && (cw.bounds[2*(bottom-1)]+cw.bounds[2*(bottom-1)+1] >= s || cw.bounds[2*(bottom-1)+1] < full-1) {
		bottom--
	}
	return top, bottom
}

// horizontal is the band of every source row's segment [x0, x0+s) resized
// to out columns, rounded to 8 bits as Pillow's first pass; rows [lo, hi)
// are computed if they were not yet.
func (c *CropResizer) horizontal(x0, s, lo, hi int) []uint8 {
	key := [2]int{s, x0}
	b, ok := c.hband[key]
	if !ok {
		b = newBand(c.src.H, c.out*3)
		c.hband[key] = b
	}
	cw := c.cache.get(s, c.out, c.filter)
	for y := max(lo, 0); y < min(hi, c.src.H); y++ {
		if b.done[y] {
			continue
		}
		b.done[y] = true
		row := c.src.Pix[(y*c.src.W+x0)*3 : (y*c.src.W+x0+s)*3]
		dst := b.pix[y*c.out*3 : (y+1)*c.out*3]
		for x := 0; x < c.out; x++ {
			xmin, n := cw.bounds[2*x], cw.bounds[2*x+1]
			k := cw.k[x*cw.ksize : x*cw.ksize+n]
			if n == 4 { // bicubic upsampling, nearly every pixel: unrolled
				p := row[xmin*3 : xmin*3+12]
				k0, k1, k2, k3 := k[0], k[1], k[2], k[3]
				const half = 1 << (precisionBits - 1)
				dst[x*3] = clip8(int64(half + int32(p[0])*k0 + int32(p[3])*k1 + int32(p[6])*k2 + int32(p[9])*k3))
				dst[x*3+1] = clip8(int64(half + int32(p[1])*k0 + int32(p[4])*k1 + int32(p[7])*k2 + int32(p[10])*k3))
				dst[x*3+2] = clip8(int64(half + int32(p[2])*k0 + int32(p[5])*k1 + int32(p[8])*k2 + int32(p[11])*k3))
				continue
			}
			var r, g, bl int32 = 1 << (precisionBits - 1), 1 << (precisionBits - 1), 1 << (precisionBits - 1)
			for i, kv := range k {
				p := row[(xmin+i)*3:]
				r += int32(p[0]) * kv
				g += int32(p[1]) * kv
				bl += int32(p[2]) * kv
			}
			dst[x*3], dst[x*3+1], dst[x*3+2] = clip8(int64(r)), clip8(int64(g)), clip8(int64(bl))
		}
	}
	return b.pix
}

// vertical is the whole horizontal band resized vertically by out/s (as
// one image: Pillow's weights for its height); rows [lo, hi) of it are
// computed if they were not yet.
func (c *CropResizer) vertical(x0, s, lo, hi int) []uint8 {
	key := [2]int{s, x0}
	rows := c.src.H * c.out / s
	stride := c.out * 3
	b, ok := c.vband[key]
	if !ok {
		b = newBand(rows, stride)
		c.vband[key] = b
	}
	cv := c.cache.get(c.src.H, rows, c.filter)
	for y := max(lo, 0); y < min(hi, rows); y++ {
		if b.done[y] {
			continue
		}
		b.done[y] = true
		ymin, n := cv.bounds[2*y], cv.bounds[2*y+1]
		h := c.horizontal(x0, s, ymin, ymin+n)
		verticalRow(b.pix[y*stride:(y+1)*stride], h, stride, ymin, cv.k[y*cv.ksize:y*cv.ksize+n], c.acc)
	}
	return b.pix
}

// verticalRows computes output rows [from, to) of the crop at (x0, y0)
// from the horizontal band with the crop's own (clipped) weights.
func (c *CropResizer) verticalRows(out *RGB, x0, s int, cw *coeffs, y0, from, to int) {
	stride := c.out * 3
	for y := from; y < to; y++ {
		ymin, n := cw.bounds[2*y], cw.bounds[2*y+1]
		h := c.horizontal(x0, s, y0+ymin, y0+ymin+n)
		verticalRow(out.Pix[y*stride:(y+1)*stride], h, stride, y0+ymin, cw.k[y*cw.ksize:y*cw.ksize+n], c.acc)
	}
}
